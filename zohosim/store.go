package zohosim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FieldType is a Zoho data_type.
type FieldType string

// The field types the emulator models.
const (
	TypeID          FieldType = "bigint_id"
	TypeText        FieldType = "text"
	TypeTextarea    FieldType = "textarea"
	TypeEmail       FieldType = "email"
	TypePhone       FieldType = "phone"
	TypeWebsite     FieldType = "website"
	TypePicklist    FieldType = "picklist"
	TypeMultiSelect FieldType = "multiselectpicklist"
	TypeInteger     FieldType = "integer"
	TypeBigint      FieldType = "bigint"
	TypeCurrency    FieldType = "currency"
	TypeDecimal     FieldType = "decimal"
	TypeDouble      FieldType = "double"
	TypePercent     FieldType = "percent"
	TypeBoolean     FieldType = "boolean"
	TypeDate        FieldType = "date"
	TypeDatetime    FieldType = "datetime"
	TypeOwnerLookup FieldType = "ownerlookup"
	TypeLookup      FieldType = "lookup"
)

// Field describes one field of a module.
type Field struct {
	APIName  string
	Type     FieldType
	ReadOnly bool
	Values   []string // picklist and multi-select values, in display order
	// Label is the field_label; "" means the API name with spaces.
	Label string
	// Length is the maximum length in characters of a text-like value;
	// 0 means the type's default (text 255, email 100, phone 30, …).
	Length int
	// Mandatory is system_mandatory: required on create, never cleared.
	Mandatory bool
	// Unique refuses a value another record has (DUPLICATE_DATA),
	// case-insensitively.
	Unique bool
	// Custom is custom_field.
	Custom bool
	// Lookup is the module a lookup field points at.
	Lookup string
	// Modules are the modules a multi-module lookup may point at (Tasks
	// What_Id, Notes Parent_Id); Lookup is "" for them.
	Modules []string
}

// Picklists of the Accounts module that other modules share.
var (
	industries = []string{"-None-", "Banking", "Communications", "Consulting", "Education", "Government", "Healthcare", "Manufacturing", "Retail", "Technology", "Transportation"}
	ratings    = []string{"-None-", "Acquired", "Active", "Market Failed", "Project Cancelled", "Shut Down"}
)

// AccountFields is the Accounts module's field registry (reference §11, plus a
// custom Email field so that email search has something to search).
var AccountFields = []Field{
	{APIName: "id", Type: TypeID, ReadOnly: true, Label: "Record Id"},
	{APIName: "Account_Name", Type: TypeText, Mandatory: true},
	{APIName: "Owner", Type: TypeOwnerLookup, Label: "Account Owner"},
	{APIName: "Account_Number", Type: TypeBigint},
	{APIName: "Account_Site", Type: TypeText},
	{APIName: "Account_Type", Type: TypePicklist, Values: []string{"-None-", "Analyst", "Competitor", "Customer", "Distributor", "Integrator", "Investor", "Other", "Partner", "Press", "Prospect", "Reseller", "Supplier", "Vendor"}},
	{APIName: "Annual_Revenue", Type: TypeCurrency},
	{APIName: "Employees", Type: TypeInteger},
	{APIName: "Industry", Type: TypePicklist, Values: industries},
	{APIName: "Ownership", Type: TypePicklist, Values: []string{"-None-", "Private", "Public", "Subsidiary", "Other"}},
	{APIName: "Rating", Type: TypePicklist, Values: ratings},
	{APIName: "SIC_Code", Type: TypeInteger, Label: "SIC Code"},
	{APIName: "Ticker_Symbol", Type: TypeText},
	{APIName: "Phone", Type: TypePhone},
	{APIName: "Fax", Type: TypePhone},
	{APIName: "Website", Type: TypeWebsite},
	{APIName: "Email", Type: TypeEmail, Custom: true},
	{APIName: "Description", Type: TypeTextarea},
	{APIName: "Parent_Account", Type: TypeLookup, Lookup: ModuleAccounts},
	{APIName: "Billing_Street", Type: TypeText},
	{APIName: "Billing_City", Type: TypeText},
	{APIName: "Billing_State", Type: TypeText},
	{APIName: "Billing_Code", Type: TypeText},
	{APIName: "Billing_Country", Type: TypeText},
	{APIName: "Shipping_Street", Type: TypeText},
	{APIName: "Shipping_City", Type: TypeText},
	{APIName: "Shipping_State", Type: TypeText},
	{APIName: "Shipping_Code", Type: TypeText},
	{APIName: "Shipping_Country", Type: TypeText},
	{APIName: "Currency", Type: TypePicklist, Values: []string{"USD", "EUR", "INR", "GBP", "JPY"}},
	{APIName: "Exchange_Rate", Type: TypeDecimal},
	{APIName: "Locked__s", Type: TypeBoolean, ReadOnly: true},
	{APIName: "Created_Time", Type: TypeDatetime, ReadOnly: true},
	{APIName: "Modified_Time", Type: TypeDatetime, ReadOnly: true},
	{APIName: "Last_Activity_Time", Type: TypeDatetime, ReadOnly: true},
	{APIName: "Created_By", Type: TypeOwnerLookup, ReadOnly: true},
	{APIName: "Modified_By", Type: TypeOwnerLookup, ReadOnly: true},
}

// LookupField returns the Accounts field with the given API name.
func LookupField(apiName string) (*Field, bool) { return accounts.Field(apiName) }

// Record is one record as the emulator stores and serves it. Values are
// string, int64, float64, bool, nil, []string (multi-select picklists), or
// map[string]any / Record for lookups.
type Record map[string]any

// idBase makes seeded ids 19 digits long and ascending with their index.
// It is the first Accounts id; every module has its own range of a million
// ids (see moduleIDBase), so ids are unique across the org as in Zoho.
const idBase = 5725767000001000000

// Store holds one module's records. Seeded records are generated on demand
// from their index and the seed, so a store of 200,000 accounts costs only
// the records that were changed. It is safe for concurrent use.
type Store struct {
	mu        sync.RWMutex
	mod       *Module
	base      int64 // id of seeded record 0
	seed      uint64
	n         int                // seeded records: ids base .. base+n-1
	gen       func(i int) Record // seeded record i
	genMod    func(i int) int64  // seeded record i's Modified_Time (unix seconds), cheaply
	overrides map[int64]Record   // changed fields per record id
	modified  map[int64]int64    // Modified_Time (unix seconds) per changed record
	extra     map[int64]Record   // records created after seeding
	deleted   map[int64]bool
	now       func() time.Time
	uniq      map[string]map[string]int64 // value indexes (valueIndexLocked), built on first use

	modVer  int                   // bumped by every update and insert (Modified_Time order changes)
	insVer  int                   // bumped by every insert (every order changes)
	orders  map[orderKey]orderVal // cached sort orders
	orderMu sync.Mutex
}

type orderKey struct {
	by   string
	desc bool
}

type orderVal struct {
	ver int
	ids []int64
}

// NewStore returns an Accounts store seeded with n deterministic accounts.
func NewStore(n int, seed uint64, now func() time.Time) *Store {
	s := newStore(accounts, idBase, n, seed, now)
	s.gen, s.genMod = s.generate, s.seedModified
	return s
}

// newStore returns an empty store of module m whose n seeded records (ids
// from base) come from gen and genMod, which the caller sets.
func newStore(m *Module, base int64, n int, seed uint64, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{mod: m, base: base, seed: seed, n: n, overrides: map[int64]Record{}, modified: map[int64]int64{},
		extra: map[int64]Record{}, deleted: map[int64]bool{}, now: now}
}

// Module returns the store's module.
func (s *Store) Module() *Module { return s.mod }

// Len returns the number of live records.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n + len(s.extra) - len(s.deleted)
}

// ParseID parses a record id; ok is false for anything but 1–19 digits.
func ParseID(id string) (int64, bool) {
	if len(id) == 0 || len(id) > 19 {
		return 0, false
	}
	for _, c := range id {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(id, 10, 64)
	return v, err == nil
}

// Get returns a copy of the record with the given id.
func (s *Store) Get(id string) (Record, bool) {
	n, ok := ParseID(id)
	if !ok {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.getLocked(n)
}

func (s *Store) getLocked(n int64) (Record, bool) {
	if s.deleted[n] {
		return nil, false
	}
	var r Record
	if x, ok := s.extra[n]; ok {
		r = copyRecord(x)
	} else {
		i := n - s.base
		if i < 0 || i >= int64(s.n) {
			return nil, false
		}
		r = s.gen(int(i))
		for k, v := range s.overrides[n] {
			r[k] = v
		}
	}
	if m, ok := s.modified[n]; ok {
		r["Modified_Time"] = formatTime(time.Unix(m, 0))
	}
	return r, true
}

// IDs returns every live id in ascending order.
func (s *Store) IDs() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := make([]string, 0, s.n+len(s.extra))
	for i := 0; i < s.n; i++ {
		n := s.base + int64(i)
		if !s.deleted[n] {
			ids = append(ids, strconv.FormatInt(n, 10))
		}
	}
	if len(s.extra) > 0 {
		var more []int64
		for n := range s.extra {
			if !s.deleted[n] {
				more = append(more, n)
			}
		}
		sort.Slice(more, func(a, b int) bool { return more[a] < more[b] })
		for _, n := range more {
			ids = append(ids, strconv.FormatInt(n, 10))
		}
	}
	return ids
}

// Each calls fn with every live record in ascending id order until fn
// returns false. The records are fresh copies; fn must not call the store.
func (s *Store) Each(fn func(Record) bool) {
	for _, id := range s.IDs() {
		r, ok := s.Get(id)
		if ok && !fn(r) {
			return
		}
	}
}

// Update sets fields of an existing record and stamps Modified_Time. data
// must already be validated (known, writable fields, right types). It returns
// the updated record and false if there is no such record.
func (s *Store) Update(id string, data map[string]any) (Record, bool) {
	n, ok := ParseID(id)
	if !ok {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.getLocked(n)
	if !ok {
		return nil, false
	}
	if r, ok := s.extra[n]; ok {
		for k, v := range data {
			r[k] = v
		}
	} else {
		o := s.overrides[n]
		if o == nil {
			o = Record{}
			s.overrides[n] = o
		}
		for k, v := range data {
			o[k] = v
		}
	}
	s.modified[n] = s.now().Unix()
	s.modVer++
	r, _ := s.getLocked(n)
	s.reindexLocked(n, old, r)
	return r, true
}

// ModifiedTime returns the record's Modified_Time.
func (s *Store) ModifiedTime(id string) (time.Time, bool) {
	r, ok := s.Get(id)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, r["Modified_Time"].(string))
	return t, err == nil
}

func copyRecord(r Record) Record {
	c := make(Record, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

// zone is the org's time zone offset used in datetimes (ISO-8601 with offset).
var zone = time.FixedZone("", -6*3600)

func formatTime(t time.Time) string { return t.In(zone).Format("2006-01-02T15:04:05-07:00") }

var (
	nameStems = []string{"Acme", "Zylker", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli",
		"Vandelay", "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Oscorp", "Nakatomi",
		"Müller & Söhne", "Café Zürich", "Ōsaka Trading", "Smith (UK), Ltd", "O'Brien Partners",
		"Back\\Slash Labs", "Alpha, Beta & Gamma", "(Bracketed) Co", "Straße Logistik", "Łódź Textiles"}
	nameSuffix = []string{"Corp", "Inc", "LLC", "GmbH", "Ltd", "Group", "Holdings", "Systems", "Industries", "Labs"}
	cities     = []string{"Austin", "Chennai", "Berlin", "São Paulo", "Tokyo", "Sydney", "Toronto", "Paris", "Chicago", "Zürich"}
	states     = []string{"TX", "TN", "BE", "SP", "13", "NSW", "ON", "IDF", "IL", "ZH"}
	countries  = []string{"USA", "India", "Germany", "Brazil", "Japan", "Australia", "Canada", "France", "USA", "Switzerland"}
	owners     = []Record{
		{"name": "Patricia Boyle", "id": "5725767000000411001", "email": "p.boyle@example.com"},
		{"name": "Ravi Kumar", "id": "5725767000000411002", "email": "ravi.kumar@example.com"},
		{"name": "Jana Nováková", "id": "5725767000000411003", "email": "jana.novakova@example.com"},
	}
	seedEpoch = time.Date(2024, 1, 9, 17, 2, 31, 0, time.UTC)
)

// generate builds seeded record i deterministically from the store's seed.
func (s *Store) generate(i int) Record {
	rng := rand.New(rand.NewPCG(s.seed, uint64(i)))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	id := strconv.FormatInt(int64(idBase+i), 10)
	name := seedName(i)
	city := rng.IntN(len(cities))
	owner := owners[rng.IntN(len(owners))]
	created := seedEpoch.Add(time.Duration(i) * 37 * time.Minute)
	modified := created.Add(time.Duration(rng.IntN(90*24)) * time.Hour) // keep in step with seedModified
	slug := "acct" + strconv.Itoa(i)
	var parent any
	if i > 10 && i%7 == 0 {
		p := i / 7
		parent = Record{"name": seedName(p), "id": strconv.FormatInt(int64(idBase+p), 10)}
	}
	var desc any
	if rng.IntN(3) == 0 {
		desc = "Key account; renewal due next quarter."
	}
	return Record{
		"id":                 id,
		"Account_Name":       name,
		"Owner":              copyRecord(owner),
		"Account_Number":     int64(100000 + i),
		"Account_Site":       cities[city] + " HQ",
		"Account_Type":       pick(AccountFields[5].Values[1:]),
		"Annual_Revenue":     float64(rng.IntN(500)) * 25000.0,
		"Employees":          int64(5 + rng.IntN(5000)),
		"Industry":           pick(AccountFields[8].Values[1:]),
		"Ownership":          pick(AccountFields[9].Values[1:]),
		"Rating":             pick(AccountFields[10].Values[1:]),
		"SIC_Code":           int64(1000 + rng.IntN(8999)),
		"Ticker_Symbol":      "T" + zeroPad(i%10000, 4),
		"Phone":              "+1 555 " + zeroPad(i%10000, 4),
		"Fax":                nil,
		"Website":            "https://" + slug + ".example.com",
		"Email":              "contact@" + slug + ".example.com",
		"Description":        desc,
		"Parent_Account":     parent,
		"Billing_Street":     strconv.Itoa(1+rng.IntN(999)) + " Main Street",
		"Billing_City":       cities[city],
		"Billing_State":      states[city],
		"Billing_Code":       zeroPad(rng.IntN(99999), 5),
		"Billing_Country":    countries[city],
		"Shipping_Street":    nil,
		"Shipping_City":      cities[city],
		"Shipping_State":     states[city],
		"Shipping_Code":      nil,
		"Shipping_Country":   countries[city],
		"Currency":           "USD",
		"Exchange_Rate":      1.0,
		"Locked__s":          false,
		"Created_Time":       formatTime(created),
		"Modified_Time":      formatTime(modified),
		"Last_Activity_Time": formatTime(modified),
		"Created_By":         copyRecord(owners[0]),
		"Modified_By":        copyRecord(owner),
	}
}

// seedModified returns seeded record i's Modified_Time (unix seconds) without
// generating the record: it repeats generate's first random draws.
func (s *Store) seedModified(i int) int64 {
	rng := rand.New(rand.NewPCG(s.seed, uint64(i)))
	rng.IntN(len(cities))
	rng.IntN(len(owners))
	created := seedEpoch.Add(time.Duration(i) * 37 * time.Minute)
	return created.Add(time.Duration(rng.IntN(90*24)) * time.Hour).Unix()
}

// order returns every live id sorted by sortBy ("id", "Created_Time" or
// "Modified_Time"; ties by id), descending when desc. The slice is cached
// and shared: callers must not change it.
func (s *Store) order(sortBy string, desc bool) []int64 {
	s.mu.RLock()
	ver := s.insVer // inserts change every order
	if sortBy == "Modified_Time" {
		ver = s.modVer // bumped by inserts too
	}
	s.mu.RUnlock()
	k := orderKey{sortBy, desc}
	s.orderMu.Lock()
	defer s.orderMu.Unlock()
	if v, ok := s.orders[k]; ok && v.ver == ver {
		return v.ids
	}
	s.mu.RLock()
	ids := make([]int64, 0, s.n+len(s.extra))
	for i := 0; i < s.n; i++ {
		if n := s.base + int64(i); !s.deleted[n] {
			ids = append(ids, n)
		}
	}
	for n := range s.extra {
		if !s.deleted[n] {
			ids = append(ids, n)
		}
	}
	var key map[int64]int64
	if sortBy == "Modified_Time" {
		key = make(map[int64]int64, len(ids))
		for _, n := range ids {
			if m, ok := s.modified[n]; ok {
				key[n] = m
			} else if r, ok := s.extra[n]; ok {
				t, _ := time.Parse(time.RFC3339, fmt.Sprint(r["Modified_Time"]))
				key[n] = t.Unix()
			} else {
				key[n] = s.genMod(int(n - s.base))
			}
		}
	}
	s.mu.RUnlock()
	// Seeded ids ascend with Created_Time, so "id" and "Created_Time" share an order.
	sort.Slice(ids, func(a, b int) bool {
		x, y := ids[a], ids[b]
		if key != nil && key[x] != key[y] {
			return key[x] < key[y]
		}
		return x < y
	})
	if desc {
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
	}
	if s.orders == nil {
		s.orders = map[orderKey]orderVal{}
	}
	s.orders[k] = orderVal{ver: ver, ids: ids}
	return ids
}

// seedName is seeded record i's Account_Name.
func seedName(i int) string {
	return nameStems[i%len(nameStems)] + " " + nameSuffix[(i/len(nameStems))%len(nameSuffix)] + " " + strconv.Itoa(i)
}

// zeroPad formats a non-negative n with at least width digits.
func zeroPad(n, width int) string {
	d := strconv.Itoa(n)
	for len(d) < width {
		d = "0" + d
	}
	return d
}

// conflict is a unique field's clash found while writing a record.
type conflict struct {
	field string // the unique field
	id    string // the record that already holds the value
}

// uniqueKey is how a unique field's value is compared: case-insensitively,
// and "" for a value that takes part in no clash (null or empty).
func uniqueKey(v any) string {
	s, ok := v.(string)
	if !ok {
		if v == nil {
			return ""
		}
		s = fmt.Sprint(v)
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// valueIndexLocked returns the index of field: each value (see uniqueKey)
// to the lowest id holding it, built from every live record the first time
// (s.mu must be held for writing). Unique fields use it to find clashes,
// upsert to find the record to update.
func (s *Store) valueIndexLocked(field string) map[string]int64 {
	if idx, ok := s.uniq[field]; ok {
		return idx
	}
	idx := map[string]int64{}
	add := func(n int64) {
		if r, ok := s.getLocked(n); ok {
			if k := uniqueKey(r[field]); k != "" {
				if cur, dup := idx[k]; !dup || n < cur {
					idx[k] = n
				}
			}
		}
	}
	for i := 0; i < s.n; i++ {
		add(s.base + int64(i))
	}
	for n := range s.extra {
		add(n)
	}
	if s.uniq == nil {
		s.uniq = map[string]map[string]int64{}
	}
	s.uniq[field] = idx
	return idx
}

// reindexLocked moves record n's values in the built value indexes from
// old (nil for a new record) to now. When another record may still hold
// the old value (a field that is not unique), the index is dropped and
// rebuilt on its next use.
func (s *Store) reindexLocked(n int64, old, now Record) {
	for field, idx := range s.uniq {
		if old != nil {
			if k := uniqueKey(old[field]); k != "" && k != uniqueKey(now[field]) && idx[k] == n {
				if f, _ := s.mod.Field(field); f == nil || !f.Unique {
					delete(s.uniq, field)
					continue
				}
				delete(idx, k)
			}
		}
		if k := uniqueKey(now[field]); k != "" {
			if cur, taken := idx[k]; !taken || n < cur {
				idx[k] = n
			}
		}
	}
}

// findBy returns the lowest id whose field holds value (compared as
// uniqueKey does).
func (s *Store) findBy(field, value string) (string, bool) {
	k := uniqueKey(value)
	if k == "" {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.valueIndexLocked(field)[k]
	if !ok {
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

// clashLocked returns the first unique field of data whose value another
// record than self holds.
func (s *Store) clashLocked(data map[string]any, self int64) *conflict {
	for i := range s.mod.Fields {
		f := &s.mod.Fields[i]
		if !f.Unique {
			continue
		}
		v, ok := data[f.APIName]
		if !ok {
			continue
		}
		k := uniqueKey(v)
		if k == "" {
			continue
		}
		if n, taken := s.valueIndexLocked(f.APIName)[k]; taken && n != self {
			return &conflict{field: f.APIName, id: strconv.FormatInt(n, 10)}
		}
	}
	return nil
}

// write applies validated data as one step: it inserts a record when id is
// "" and updates record id otherwise, unless a unique field's value is held
// by another record (the conflict is returned and nothing changes). ok is
// false when id names no record.
func (s *Store) write(id string, data map[string]any, now time.Time) (rec Record, c *conflict, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		if c := s.clashLocked(data, -1); c != nil {
			return nil, c, true
		}
		n := s.insertLocked(data, now)
		r, _ := s.getLocked(n)
		return r, nil, true
	}
	n, ok := ParseID(id)
	if !ok {
		return nil, nil, false
	}
	old, ok := s.getLocked(n)
	if !ok {
		return nil, nil, false
	}
	if c := s.clashLocked(data, n); c != nil {
		return nil, c, true
	}
	if r, ok := s.extra[n]; ok {
		for k, v := range data {
			r[k] = v
		}
	} else {
		o := s.overrides[n]
		if o == nil {
			o = Record{}
			s.overrides[n] = o
		}
		for k, v := range data {
			o[k] = v
		}
	}
	s.modified[n] = now.Unix()
	s.modVer++
	r, _ := s.getLocked(n)
	s.reindexLocked(n, old, r)
	return r, nil, true
}

// insertBulk adds a record built from validated data (which must hold the
// module's mandatory fields) and returns its new id. It does not check
// unique fields; write does.
func (s *Store) insertBulk(data map[string]any, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.FormatInt(s.insertLocked(data, now), 10)
}

// insertLocked adds a record with the module's defaults under data and
// returns its id: every field null, booleans false, the org's first user
// as owner, creator and modifier, Created_Time and Modified_Time now.
func (s *Store) insertLocked(data map[string]any, now time.Time) int64 {
	n := s.base + int64(s.n) + int64(len(s.extra))
	for {
		if _, taken := s.extra[n]; !taken {
			break
		}
		n++
	}
	r := make(Record, len(s.mod.Fields)+1)
	for _, f := range s.mod.Fields {
		r[f.APIName] = nil
		if f.Type == TypeBoolean {
			r[f.APIName] = false
		}
	}
	ts := formatTime(now)
	r["id"] = strconv.FormatInt(n, 10)
	r["Owner"] = copyRecord(owners[0])
	r["Created_Time"], r["Modified_Time"] = ts, ts
	if _, ok := s.mod.index["Last_Activity_Time"]; ok {
		r["Last_Activity_Time"] = ts
	}
	r["Created_By"], r["Modified_By"] = copyRecord(owners[0]), copyRecord(owners[0])
	for k, v := range insertDefaults[s.mod.APIName] {
		r[k] = v
	}
	for k, v := range data {
		r[k] = v
	}
	s.extra[n] = r
	s.modVer++
	s.insVer++
	s.reindexLocked(n, nil, r)
	return n
}

// insertDefaults are the values a new record of a module gets unless the
// request sets them. UNCONFIRMED: Zoho's defaults for Tasks Status and
// Priority.
var insertDefaults = map[string]Record{
	ModuleAccounts: {"Currency": "USD", "Exchange_Rate": 1.0},
	ModuleTasks:    {"Status": "Not Started", "Priority": "Normal"},
	ModuleProjects: {"Status": "Planned"},
}
