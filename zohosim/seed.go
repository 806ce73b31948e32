package zohosim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// Seeded records of the modules beside Accounts. Like accounts they are
// generated on demand from their index and the seed, so a store costs only
// the records that changed. Their links (a contact's account, a task's
// What_Id, a note's Parent_Id, …) are index arithmetic in both directions
// (seedLinks), so a related list is found without scanning the child module.
//
// Default sizes, with A accounts: Contacts 2A, Deals A, Leads A/2, Tasks A,
// Notes A, Projects A/2, each at most maxSeeded (Options.ModuleRecords
// overrides them). Names, emails and codes derive from the index (unique
// where the field is unique); everything else from a PCG seeded with the
// seed and the index.

// maxSeeded caps the default seeded records of a module beside Accounts.
const maxSeeded = 10_000

// maxModuleRecords is the most seeded records a module may have: every
// module owns a range of ten million ids.
const maxModuleRecords = 8_000_000

// moduleSeq orders the modules' id ranges: module k's records start at
// idBase + k×10,000,000 (Accounts keeps idBase).
var moduleSeq = map[string]int64{ModuleAccounts: 0, ModuleContacts: 1, ModuleLeads: 2, ModuleDeals: 3,
	ModuleTasks: 4, ModuleNotes: 5, ModuleProjects: 6}

// moduleBase is the id of a module's seeded record 0.
func moduleBase(module string) int64 { return idBase + moduleSeq[module]*10_000_000 }

// defaultCounts returns the seeded records per module for a accounts.
func defaultCounts(a int) map[string]int {
	c := func(n int) int { return min(n, maxSeeded) }
	return map[string]int{ModuleAccounts: a, ModuleContacts: c(2 * a), ModuleDeals: c(a), ModuleLeads: c(a / 2),
		ModuleTasks: c(a), ModuleNotes: c(a), ModuleProjects: c(a / 2)}
}

// seeder generates the seeded records of every module.
type seeder struct {
	seed   uint64
	counts map[string]int
}

// newStores returns the org's record stores, one per module with a records
// API, seeded per counts.
func newStores(seed uint64, counts map[string]int, now func() time.Time) map[string]*Store {
	sd := &seeder{seed: seed, counts: counts}
	out := map[string]*Store{}
	for _, m := range moduleDefs {
		if !m.hasRecords() {
			continue
		}
		if m.APIName == ModuleAccounts {
			out[m.APIName] = NewStore(counts[ModuleAccounts], seed, now)
			continue
		}
		st := newStore(m, moduleBase(m.APIName), counts[m.APIName], seed, now)
		st.gen, st.genMod = sd.generator(m.APIName), sd.modified(m.APIName)
		out[m.APIName] = st
	}
	return out
}

// has reports whether module has seeded record i.
func (sd *seeder) has(module string, i int) bool { return i >= 0 && i < sd.counts[module] }

// id is the id of module's seeded record i.
func (sd *seeder) id(module string, i int) string {
	return strconv.FormatInt(moduleBase(module)+int64(i), 10)
}

// seedSalt keeps the modules' random streams apart.
var seedSalt = map[string]uint64{ModuleContacts: 0x6a09e667, ModuleLeads: 0xbb67ae85, ModuleDeals: 0x3c6ef372,
	ModuleTasks: 0xa54ff53a, ModuleNotes: 0x510e527f, ModuleProjects: 0x9b05688c}

// createdStep spaces a module's seeded Created_Time values (ascending with id).
var createdStep = map[string]time.Duration{ModuleContacts: 19 * time.Minute, ModuleLeads: 41 * time.Minute,
	ModuleDeals: 29 * time.Minute, ModuleTasks: 23 * time.Minute, ModuleNotes: 31 * time.Minute,
	ModuleProjects: 53 * time.Minute}

// times returns seeded record i's random stream (its first draw taken) and
// its Created_Time and Modified_Time.
func (sd *seeder) times(module string, i int) (rng *rand.Rand, created, modified time.Time) {
	rng = rand.New(rand.NewPCG(sd.seed^seedSalt[module], uint64(i)))
	created = seedEpoch.Add(time.Duration(i) * createdStep[module])
	modified = created.Add(time.Duration(rng.IntN(90*24)) * time.Hour)
	return rng, created, modified
}

// modified returns module's Modified_Time function for sorting without
// generating records.
func (sd *seeder) modified(module string) func(i int) int64 {
	return func(i int) int64 {
		_, _, m := sd.times(module, i)
		return m.Unix()
	}
}

// Names from the index, so a lookup's name costs no record.
var (
	firstNames = []string{"Ava", "Liam", "Mia", "Noah", "Zoë", "Ravi", "Jana", "Kenji", "Sofía", "Omar", "Chloé",
		"Björn", "Aisha", "Mateo", "Yuki", "Priya"}
	lastNames = []string{"Smith", "Kumar", "Nováková", "Tanaka", "García", "Müller", "O'Neil", "Okafor", "Rossi",
		"Chen", "Dubois", "Kowalski", "Silva", "Haddad", "Larsen", "Nguyen"}
	titles      = []string{"CEO", "CTO", "VP Sales", "Buyer", "Engineer", "Office Manager", "Analyst", "Director"}
	departments = []string{"Sales", "Engineering", "Finance", "Operations", "Procurement", "Marketing"}
	dealKinds   = []string{"Renewal", "Expansion", "New Logo", "Pilot", "Upgrade"}
	taskVerbs   = []string{"Call", "Send proposal to", "Follow up with", "Schedule demo for", "Email"}
	noteTitles  = []string{"Meeting notes", "Pricing discussion", "Requirements", "Next steps", "Call summary"}
	projectCode = []string{"Atlas", "Borealis", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Helix"}
)

func personFirst(i int) string { return firstNames[i%len(firstNames)] }
func personLast(i int) string {
	return lastNames[(i/len(firstNames))%len(lastNames)] + suffix(i/(len(firstNames)*len(lastNames)))
}

// suffix tells apart names that repeat after every 256 people.
func suffix(k int) string {
	if k == 0 {
		return ""
	}
	return " " + strconv.Itoa(k+1)
}

// name returns the display name of module's seeded record i (what a lookup
// to it shows): the module's NameField.
func (sd *seeder) name(module string, i int) string {
	switch module {
	case ModuleAccounts:
		return seedName(i)
	case ModuleContacts:
		return personFirst(i) + " " + personLast(i)
	case ModuleLeads:
		return personFirst(i+5) + " " + personLast(i+37)
	case ModuleDeals:
		return seedName(i) + " " + dealKinds[i%len(dealKinds)]
	case ModuleProjects:
		return "Project " + projectCode[i%len(projectCode)] + " " + strconv.Itoa(i)
	case ModuleTasks:
		return taskVerbs[i%len(taskVerbs)] + " #" + strconv.Itoa(i)
	case ModuleNotes:
		return noteTitles[i%len(noteTitles)]
	}
	return ""
}

// lookupTo returns the lookup value of module's seeded record i: {name, id}.
func (sd *seeder) lookupTo(module string, i int) Record {
	return Record{"name": sd.name(module, i), "id": sd.id(module, i)}
}

// seedLink is how the seeded records of child point at their parent through
// field: parentOf(i) is seeded child i's parent index (-1: none), and
// childrenOf(k) the seeded children parent k may have (callers check the
// bounds and that parentOf agrees).
type seedLink struct {
	child, field, parent string
	parentOf             func(i int) int
	childrenOf           func(k int) []int
}

// every links child i with i%m == r to parent i/div (div 1: the same index).
func every(child, field, parent string, m, r, div int) seedLink {
	return seedLink{child: child, field: field, parent: parent,
		parentOf: func(i int) int {
			if i%m != r {
				return -1
			}
			return i / div
		},
		childrenOf: func(k int) []int {
			var out []int
			for i := k * div; i < (k+1)*div; i++ {
				if i%m == r {
					out = append(out, i)
				}
			}
			return out
		}}
}

// seedLinks are the seeded records' links. Contacts: two per account.
// Deals: one per account, its contact the account's first contact. Tasks:
// a third each on accounts, deals and leads, account tasks with the
// account's first contact as Who_Id. Notes: a quarter each on accounts,
// contacts, deals and projects. Projects: one per even account.
var seedLinks = []seedLink{
	every(ModuleContacts, "Account_Name", ModuleAccounts, 1, 0, 2),
	every(ModuleDeals, "Account_Name", ModuleAccounts, 1, 0, 1),
	{child: ModuleDeals, field: "Contact_Name", parent: ModuleContacts,
		parentOf:   func(i int) int { return 2 * i },
		childrenOf: func(j int) []int { return evenHalf(j) }},
	every(ModuleTasks, "What_Id", ModuleAccounts, 3, 0, 1),
	every(ModuleTasks, "What_Id", ModuleDeals, 3, 1, 1),
	{child: ModuleTasks, field: "What_Id", parent: ModuleLeads,
		parentOf: func(i int) int {
			if i%3 != 2 {
				return -1
			}
			return i / 3
		},
		childrenOf: func(k int) []int { return []int{3*k + 2} }},
	{child: ModuleTasks, field: "Who_Id", parent: ModuleContacts,
		parentOf: func(i int) int {
			if i%3 != 0 {
				return -1
			}
			return 2 * i
		},
		childrenOf: func(j int) []int { return evenHalf(j) }},
	every(ModuleNotes, "Parent_Id", ModuleAccounts, 4, 0, 1),
	every(ModuleNotes, "Parent_Id", ModuleContacts, 4, 1, 1),
	every(ModuleNotes, "Parent_Id", ModuleDeals, 4, 2, 1),
	{child: ModuleNotes, field: "Parent_Id", parent: ModuleProjects,
		parentOf: func(i int) int {
			if i%4 != 3 {
				return -1
			}
			return i / 4
		},
		childrenOf: func(k int) []int { return []int{4*k + 3} }},
	{child: ModuleProjects, field: "Account", parent: ModuleAccounts,
		parentOf:   func(i int) int { return 2 * i },
		childrenOf: func(k int) []int { return evenHalf(k) }},
}

// evenHalf is the inverse of i → 2i.
func evenHalf(j int) []int {
	if j%2 != 0 {
		return nil
	}
	return []int{j / 2}
}

// parentOf returns the module and index seeded record i of child links to
// through field, ok false when it links to none (or past the parent's
// seeded records).
func (sd *seeder) parentOf(child, field string, i int) (module string, k int, ok bool) {
	for _, l := range seedLinks {
		if l.child != child || l.field != field {
			continue
		}
		if p := l.parentOf(i); p >= 0 && sd.has(l.parent, p) {
			return l.parent, p, true
		}
	}
	return "", 0, false
}

// seededChildren returns the indexes of child's seeded records that link to
// seeded record k of parent through field.
func seededChildren(counts map[string]int, child, field, parent string, k int) []int {
	var out []int
	for _, l := range seedLinks {
		if l.child != child || l.field != field || l.parent != parent {
			continue
		}
		for _, i := range l.childrenOf(k) {
			if i >= 0 && i < counts[child] && l.parentOf(i) == k {
				out = append(out, i)
			}
		}
	}
	return out
}

// parentLookup returns the lookup value seeded child i holds in field (nil
// for none), and the parent's module.
func (sd *seeder) parentLookup(child, field string, i int) (Record, string) {
	mod, k, ok := sd.parentOf(child, field, i)
	if !ok {
		return nil, ""
	}
	return sd.lookupTo(mod, k), mod
}

// lookupValue returns a lookup value as a record stores it, or nil.
func lookupValue(r Record) any {
	if r == nil {
		return nil
	}
	return r
}

// generator returns module's seeded record generator.
func (sd *seeder) generator(module string) func(i int) Record {
	switch module {
	case ModuleContacts:
		return sd.contact
	case ModuleLeads:
		return sd.lead
	case ModuleDeals:
		return sd.deal
	case ModuleTasks:
		return sd.task
	case ModuleNotes:
		return sd.note
	case ModuleProjects:
		return sd.project
	}
	panic("zohosim: no generator for " + module)
}

// audit sets the fields every seeded record has.
func audit(r Record, rng *rand.Rand, created, modified time.Time) Record {
	owner := owners[rng.IntN(len(owners))]
	r["Owner"] = copyRecord(owner)
	r["Created_By"] = copyRecord(owners[0])
	r["Modified_By"] = copyRecord(owner)
	r["Created_Time"] = formatTime(created)
	r["Modified_Time"] = formatTime(modified)
	return r
}

func pickFrom(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }

// pickValue picks a picklist value other than -None-.
func pickValue(rng *rand.Rand, xs []string) string {
	if len(xs) > 1 && xs[0] == "-None-" {
		xs = xs[1:]
	}
	return pickFrom(rng, xs)
}

func maybe(rng *rand.Rand, oneIn int, v any) any {
	if rng.IntN(oneIn) == 0 {
		return v
	}
	return nil
}

func dateOf(t time.Time) string { return t.In(zone).Format(time.DateOnly) }

// asciiSlug lower-cases s and keeps letters and digits only (for emails).
func asciiSlug(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func (sd *seeder) contact(i int) Record {
	rng, created, modified := sd.times(ModuleContacts, i)
	first, last := personFirst(i), personLast(i)
	acct, _ := sd.parentLookup(ModuleContacts, "Account_Name", i)
	domain := "example.org"
	if acct != nil {
		_, k, _ := sd.parentOf(ModuleContacts, "Account_Name", i)
		domain = "acct" + strconv.Itoa(k) + ".example.com"
	}
	city := rng.IntN(len(cities))
	r := Record{
		"id":              sd.id(ModuleContacts, i),
		"Salutation":      pickValue(rng, salutations),
		"First_Name":      first,
		"Last_Name":       last,
		"Full_Name":       first + " " + last,
		"Account_Name":    lookupValue(acct),
		"Email":           asciiSlug(first) + "." + asciiSlug(last) + "." + strconv.Itoa(i) + "@" + domain,
		"Secondary_Email": nil,
		"Phone":           "+1 555 2" + zeroPad(i%1000, 3),
		"Mobile":          maybe(rng, 2, "+1 555 3"+zeroPad(i%1000, 3)),
		"Title":           pickFrom(rng, titles),
		"Department":      pickFrom(rng, departments),
		"Lead_Source":     pickValue(rng, leadSources),
		"Date_of_Birth":   maybe(rng, 3, fmt.Sprintf("19%02d-%02d-%02d", 60+rng.IntN(40), 1+rng.IntN(12), 1+rng.IntN(28))),
		"Email_Opt_Out":   rng.IntN(10) == 0,
		"Mailing_Street":  strconv.Itoa(1+rng.IntN(999)) + " Side Street",
		"Mailing_City":    cities[city],
		"Mailing_State":   states[city],
		"Mailing_Zip":     zeroPad(rng.IntN(99999), 5),
		"Mailing_Country": countries[city],
		"Description":     maybe(rng, 4, "Prefers email; met at the spring trade show."),
	}
	r["Last_Activity_Time"] = formatTime(modified)
	return audit(r, rng, created, modified)
}

func (sd *seeder) lead(i int) Record {
	rng, created, modified := sd.times(ModuleLeads, i)
	first, last := personFirst(i+5), personLast(i+37)
	company := nameStems[(i+7)%len(nameStems)] + " Prospects " + strconv.Itoa(i)
	city := rng.IntN(len(cities))
	r := Record{
		"id":                 sd.id(ModuleLeads, i),
		"Salutation":         pickValue(rng, salutations),
		"First_Name":         first,
		"Last_Name":          last,
		"Full_Name":          first + " " + last,
		"Company":            company,
		"Designation":        pickFrom(rng, titles),
		"Email":              "lead" + strconv.Itoa(i) + "@prospect" + strconv.Itoa(i) + ".example.net",
		"Phone":              "+1 555 4" + zeroPad(i%1000, 3),
		"Mobile":             maybe(rng, 2, "+1 555 5"+zeroPad(i%1000, 3)),
		"Website":            "https://prospect" + strconv.Itoa(i) + ".example.net",
		"Lead_Source":        pickValue(rng, leadSources),
		"Lead_Status":        pickValue(rng, leadStatus),
		"Industry":           pickValue(rng, industries),
		"No_of_Employees":    int64(1 + rng.IntN(2000)),
		"Annual_Revenue":     float64(rng.IntN(400)) * 10000.0,
		"Rating":             pickValue(rng, ratings),
		"Email_Opt_Out":      rng.IntN(10) == 0,
		"Street":             strconv.Itoa(1+rng.IntN(999)) + " Market Street",
		"City":               cities[city],
		"State":              states[city],
		"Zip_Code":           zeroPad(rng.IntN(99999), 5),
		"Country":            countries[city],
		"Description":        maybe(rng, 3, "Downloaded the pricing sheet."),
		"Last_Activity_Time": formatTime(modified),
	}
	return audit(r, rng, created, modified)
}

func (sd *seeder) deal(i int) Record {
	rng, created, modified := sd.times(ModuleDeals, i)
	acct, _ := sd.parentLookup(ModuleDeals, "Account_Name", i)
	contact, _ := sd.parentLookup(ModuleDeals, "Contact_Name", i)
	stage := pickFrom(rng, dealStages)
	amount := float64(1+rng.IntN(500)) * 1000.0
	prob := stageProbability[stage]
	r := Record{
		"id":                 sd.id(ModuleDeals, i),
		"Deal_Name":          sd.name(ModuleDeals, i),
		"Account_Name":       lookupValue(acct),
		"Contact_Name":       lookupValue(contact),
		"Amount":             amount,
		"Closing_Date":       dateOf(created.Add(time.Duration(30+rng.IntN(90)) * 24 * time.Hour)),
		"Stage":              stage,
		"Type":               pickValue(rng, dealTypes),
		"Probability":        float64(prob),
		"Expected_Revenue":   amount * float64(prob) / 100,
		"Next_Step":          maybe(rng, 2, "Send the revised quote"),
		"Lead_Source":        pickValue(rng, leadSources),
		"Description":        maybe(rng, 3, "Budget approved for this fiscal year."),
		"Last_Activity_Time": formatTime(modified),
	}
	return audit(r, rng, created, modified)
}

func (sd *seeder) task(i int) Record {
	rng, created, modified := sd.times(ModuleTasks, i)
	what, mod := sd.parentLookup(ModuleTasks, "What_Id", i)
	who, _ := sd.parentLookup(ModuleTasks, "Who_Id", i)
	subject := sd.name(ModuleTasks, i)
	if what != nil {
		subject = taskVerbs[i%len(taskVerbs)] + " " + what["name"].(string)
	}
	status := pickFrom(rng, taskStatus)
	var closed any
	if status == "Completed" {
		closed = formatTime(modified)
	}
	r := Record{
		"id":                      sd.id(ModuleTasks, i),
		"Subject":                 subject,
		"Due_Date":                dateOf(created.Add(time.Duration(1+rng.IntN(30)) * 24 * time.Hour)),
		"Status":                  status,
		"Priority":                pickFrom(rng, taskPriority),
		"What_Id":                 lookupValue(what),
		"Who_Id":                  lookupValue(who),
		"Send_Notification_Email": false,
		"Description":             maybe(rng, 3, "Bring the signed NDA."),
		"Closed_Time":             closed,
	}
	if mod != "" {
		r["$se_module"] = mod
	}
	return audit(r, rng, created, modified)
}

func (sd *seeder) note(i int) Record {
	rng, created, modified := sd.times(ModuleNotes, i)
	var parent any
	if mod, k, ok := sd.parentOf(ModuleNotes, "Parent_Id", i); ok {
		m := registry[mod]
		parent = Record{"module": Record{"api_name": mod, "id": m.ID}, "name": sd.name(mod, k), "id": sd.id(mod, k)}
	}
	r := Record{
		"id":           sd.id(ModuleNotes, i),
		"Note_Title":   sd.name(ModuleNotes, i),
		"Note_Content": "Discussed " + strings.ToLower(pickFrom(rng, dealKinds)) + " options; customer asked for a follow-up.",
		"Parent_Id":    parent,
	}
	return audit(r, rng, created, modified)
}

func (sd *seeder) project(i int) Record {
	rng, created, modified := sd.times(ModuleProjects, i)
	acct, _ := sd.parentLookup(ModuleProjects, "Account", i)
	var stack []string
	for _, t := range techStack {
		if rng.IntN(3) == 0 {
			stack = append(stack, t)
		}
	}
	var stackValue any
	if stack != nil {
		stackValue = stack
	}
	r := Record{
		"id":                 sd.id(ModuleProjects, i),
		"Name":               sd.name(ModuleProjects, i),
		"Email":              "pm" + strconv.Itoa(i) + "@projects.example.com",
		"Secondary_Email":    nil,
		"Email_Opt_Out":      false,
		"Account":            lookupValue(acct),
		"Project_Code":       "PRJ-" + zeroPad(i, 5),
		"Status":             pickValue(rng, projectStatus),
		"Budget":             float64(5+rng.IntN(200)) * 1000.0,
		"Hours":              float64(rng.IntN(20000)) / 4,
		"Hourly_Rate":        float64(80+rng.IntN(120)) + 0.5,
		"Progress":           float64(rng.IntN(101)),
		"Team_Size":          int64(1 + rng.IntN(12)),
		"Start_Date":         dateOf(created),
		"Go_Live":            maybe(rng, 2, formatTime(created.Add(time.Duration(60+rng.IntN(200))*24*time.Hour))),
		"Billable":           rng.IntN(4) != 0,
		"Tech_Stack":         stackValue,
		"Description":        maybe(rng, 3, "Phase one covers the data migration."),
		"Last_Activity_Time": formatTime(modified),
	}
	return audit(r, rng, created, modified)
}
