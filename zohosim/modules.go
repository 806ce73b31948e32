package zohosim

import (
	"strconv"
	"strings"
)

// The org's modules (reference §3, §4, §11; module and field metadata from
// Zoho's OpenAPI files, getModules / getFields / getRelatedLists). The
// registry is fixed: every emulator serves the same modules with the same
// fields, and only the records differ (Options.Seed, Options.Accounts,
// Options.ModuleRecords).

// The API names of the modules the emulator serves.
const (
	ModuleAccounts = "Accounts"
	ModuleContacts = "Contacts"
	ModuleLeads    = "Leads"
	ModuleDeals    = "Deals"
	ModuleTasks    = "Tasks"
	ModuleNotes    = "Notes"
	// ModuleProjects is a custom module (generated_type custom, module_name
	// CustomModule1): its scopes are ZohoCRM.modules.custom.*.
	ModuleProjects = "Projects"
)

// Module describes one CRM module: its metadata, fields and related lists.
// Modules are shared by every emulator and must not be changed.
type Module struct {
	// APIName is the module's API name, the path segment of its records
	// API (case-sensitive).
	APIName string
	// ID is the module's id (19 digits).
	ID string
	// Singular and Plural are the module's labels.
	Singular, Plural string
	// ModuleName is Zoho's internal module_name (CustomModule1 for the
	// first custom module).
	ModuleName string
	// Custom reports a custom module (generated_type custom): its OAuth
	// scopes are ZohoCRM.modules.custom.{ALL,READ,CREATE,UPDATE,DELETE}.
	Custom bool
	// APISupported is false for modules the API does not serve (Home):
	// their records paths answer 400 NOT_SUPPORTED.
	APISupported bool
	// Status is the module's status in the modules metadata: visible, or
	// system_hidden for Notes.
	Status string
	// BulkRead is false for modules Bulk Read refuses (Notes, §7.1).
	BulkRead bool
	// NameField is the field a lookup to the module shows as its name.
	NameField string
	// DuplicateCheck are the system duplicate-check fields upsert matches
	// on when the request names none (§4.6).
	DuplicateCheck []string
	// Fields are the module's fields in layout order, id first.
	Fields []Field
	// Related are the module's related lists.
	Related []RelatedList

	seq   int // position in the registry (also in field and list ids)
	index map[string]*Field
}

// RelatedList is one related list of a module: the records of Module whose
// lookup Field points at the parent record.
type RelatedList struct {
	// APIName is the related list's API name, the last segment of
	// /crm/v8/{module}/{id}/{related list}.
	APIName string
	// Label is its display label.
	Label string
	// ID is its id (19 digits).
	ID string
	// Module is the child module.
	Module string
	// Field is the child module's lookup field that points at the parent.
	Field string
}

// Field returns the module's field with the given API name.
func (m *Module) Field(apiName string) (*Field, bool) {
	f, ok := m.index[apiName]
	return f, ok
}

// RelatedList returns the module's related list with the given API name.
func (m *Module) RelatedList(apiName string) (*RelatedList, bool) {
	for i := range m.Related {
		if m.Related[i].APIName == apiName {
			return &m.Related[i], true
		}
	}
	return nil, false
}

// hasRecords reports whether the module has a records API (and a store).
func (m *Module) hasRecords() bool { return m.APISupported }

// label returns the field's label: Label, or the API name with spaces.
func (f *Field) label() string {
	if f.Label != "" {
		return f.Label
	}
	return strings.ReplaceAll(strings.TrimSuffix(f.APIName, "__s"), "_", " ")
}

// maxLen returns the field's maximum length in characters (0: none).
func (f *Field) maxLen() int {
	if f.Length > 0 {
		return f.Length
	}
	return defaultLength[f.Type]
}

// defaultLength is the maximum length per text-like type (characters), and
// the length the fields metadata reports for the others. UNCONFIRMED: the
// lengths Zoho reports for number, date and lookup fields.
var defaultLength = map[FieldType]int{TypeText: 255, TypeTextarea: 32000, TypeEmail: 100, TypePhone: 30,
	TypeWebsite: 255, TypePicklist: 120, TypeMultiSelect: 2000, TypeInteger: 9, TypeBigint: 18, TypeCurrency: 16,
	TypeDecimal: 16, TypeDouble: 16, TypePercent: 5, TypeBoolean: 5, TypeDate: 20, TypeDatetime: 120,
	TypeLookup: 120, TypeOwnerLookup: 120, TypeID: 19}

// isLookup reports a lookup of any kind (the value is an object with an id).
func (f *Field) isLookup() bool { return f.Type == TypeLookup || f.Type == TypeOwnerLookup }

// multiModule reports a lookup to one of several modules (Tasks What_Id,
// Notes Parent_Id).
func (f *Field) multiModule() bool { return f.Type == TypeLookup && len(f.Modules) > 0 }

// Common picklists.
var (
	leadSources = []string{"-None-", "Advertisement", "Cold Call", "Employee Referral", "External Referral",
		"Online Store", "Partner", "Public Relations", "Sales Email Alias", "Seminar Partner", "Internal Seminar",
		"Trade Show", "Web Download", "Web Research", "Chat"}
	salutations = []string{"-None-", "Mr.", "Mrs.", "Ms.", "Dr.", "Prof."}
	leadStatus  = []string{"-None-", "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
		"Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified"}
	dealStages = []string{"Qualification", "Needs Analysis", "Value Proposition", "Identify Decision Makers",
		"Proposal/Price Quote", "Negotiation/Review", "Closed Won", "Closed Lost", "Closed Lost to Competition"}
	// stageProbability is the probability Zoho sets from a deal's stage.
	stageProbability = map[string]int64{"Qualification": 10, "Needs Analysis": 20, "Value Proposition": 40,
		"Identify Decision Makers": 60, "Proposal/Price Quote": 75, "Negotiation/Review": 90, "Closed Won": 100,
		"Closed Lost": 0, "Closed Lost to Competition": 0}
	dealTypes     = []string{"-None-", "Existing Business", "New Business"}
	taskStatus    = []string{"Not Started", "Deferred", "In Progress", "Completed", "Waiting for input"}
	taskPriority  = []string{"High", "Highest", "Low", "Lowest", "Normal"}
	projectStatus = []string{"-None-", "Planned", "Active", "On Hold", "Completed", "Cancelled"}
	techStack     = []string{"Go", "Python", "Java", "TypeScript", "Rust", "SQL"}
)

// systemFields are the read-only audit fields every record module has.
func systemFields() []Field {
	return []Field{
		{APIName: "Created_By", Type: TypeOwnerLookup, ReadOnly: true},
		{APIName: "Modified_By", Type: TypeOwnerLookup, ReadOnly: true},
		{APIName: "Created_Time", Type: TypeDatetime, ReadOnly: true},
		{APIName: "Modified_Time", Type: TypeDatetime, ReadOnly: true},
	}
}

func idField() Field { return Field{APIName: "id", Type: TypeID, ReadOnly: true, Label: "Record Id"} }

func ownerField(label string) Field {
	return Field{APIName: "Owner", Type: TypeOwnerLookup, Label: label}
}

// moduleDefs lists the modules in their navigation order.
var moduleDefs = []*Module{
	{
		APIName: "Home", ID: "5725767000000002171", Singular: "Home", Plural: "Home", ModuleName: "Home",
		Status: "visible",
	},
	{
		APIName: ModuleLeads, ID: "5725767000000002173", Singular: "Lead", Plural: "Leads", ModuleName: "Leads",
		APISupported: true, Status: "visible", BulkRead: true, NameField: "Full_Name", DuplicateCheck: []string{"Email"},
		Fields: append([]Field{
			idField(),
			ownerField("Lead Owner"),
			{APIName: "Salutation", Type: TypePicklist, Values: salutations},
			{APIName: "First_Name", Type: TypeText, Length: 40},
			{APIName: "Last_Name", Type: TypeText, Length: 80, Mandatory: true},
			{APIName: "Full_Name", Type: TypeText, ReadOnly: true, Length: 121, Label: "Lead Name"},
			{APIName: "Company", Type: TypeText, Length: 200},
			{APIName: "Designation", Type: TypeText, Length: 100, Label: "Title"},
			{APIName: "Email", Type: TypeEmail},
			{APIName: "Phone", Type: TypePhone},
			{APIName: "Mobile", Type: TypePhone},
			{APIName: "Website", Type: TypeWebsite},
			{APIName: "Lead_Source", Type: TypePicklist, Values: leadSources},
			{APIName: "Lead_Status", Type: TypePicklist, Values: leadStatus},
			{APIName: "Industry", Type: TypePicklist, Values: industries},
			{APIName: "No_of_Employees", Type: TypeInteger, Label: "No. of Employees"},
			{APIName: "Annual_Revenue", Type: TypeCurrency},
			{APIName: "Rating", Type: TypePicklist, Values: ratings},
			{APIName: "Email_Opt_Out", Type: TypeBoolean},
			{APIName: "Street", Type: TypeText, Length: 250},
			{APIName: "City", Type: TypeText, Length: 100},
			{APIName: "State", Type: TypeText, Length: 100},
			{APIName: "Zip_Code", Type: TypeText, Length: 30},
			{APIName: "Country", Type: TypeText, Length: 100},
			{APIName: "Description", Type: TypeTextarea},
		}, append(systemFields(),
			Field{APIName: "Last_Activity_Time", Type: TypeDatetime, ReadOnly: true})...),
		Related: []RelatedList{
			{APIName: "Tasks", Label: "Open Activities", Module: ModuleTasks, Field: "What_Id"},
			{APIName: "Notes", Label: "Notes", Module: ModuleNotes, Field: "Parent_Id"},
		},
	},
	{
		APIName: ModuleAccounts, ID: bulkAccountsModuleID, Singular: "Account", Plural: "Accounts", ModuleName: "Accounts",
		APISupported: true, Status: "visible", BulkRead: true, NameField: "Account_Name",
		DuplicateCheck: []string{"Account_Name"},
		Fields:         AccountFields,
		Related: []RelatedList{
			{APIName: "Contacts", Label: "Contacts", Module: ModuleContacts, Field: "Account_Name"},
			{APIName: "Deals", Label: "Deals", Module: ModuleDeals, Field: "Account_Name"},
			// UNCONFIRMED: Zoho names the open-activities list Activities;
			// the emulator serves the Tasks part of it as Tasks.
			{APIName: "Tasks", Label: "Open Activities", Module: ModuleTasks, Field: "What_Id"},
			{APIName: "Notes", Label: "Notes", Module: ModuleNotes, Field: "Parent_Id"},
			{APIName: "Projects", Label: "Projects", Module: ModuleProjects, Field: "Account"},
		},
	},
	{
		APIName: ModuleContacts, ID: "5725767000000002177", Singular: "Contact", Plural: "Contacts", ModuleName: "Contacts",
		APISupported: true, Status: "visible", BulkRead: true, NameField: "Full_Name", DuplicateCheck: []string{"Email"},
		Fields: append([]Field{
			idField(),
			ownerField("Contact Owner"),
			{APIName: "Salutation", Type: TypePicklist, Values: salutations},
			{APIName: "First_Name", Type: TypeText, Length: 40},
			{APIName: "Last_Name", Type: TypeText, Length: 80, Mandatory: true},
			{APIName: "Full_Name", Type: TypeText, ReadOnly: true, Length: 121, Label: "Contact Name"},
			{APIName: "Account_Name", Type: TypeLookup, Lookup: ModuleAccounts},
			// UNCONFIRMED as a default: Zoho lets an admin make Email
			// unique ("do not allow duplicate values"); this org has.
			{APIName: "Email", Type: TypeEmail, Unique: true},
			{APIName: "Secondary_Email", Type: TypeEmail},
			{APIName: "Phone", Type: TypePhone},
			{APIName: "Mobile", Type: TypePhone},
			{APIName: "Title", Type: TypeText, Length: 100},
			{APIName: "Department", Type: TypeText, Length: 100},
			{APIName: "Lead_Source", Type: TypePicklist, Values: leadSources},
			{APIName: "Date_of_Birth", Type: TypeDate},
			{APIName: "Email_Opt_Out", Type: TypeBoolean},
			{APIName: "Mailing_Street", Type: TypeText, Length: 250},
			{APIName: "Mailing_City", Type: TypeText, Length: 100},
			{APIName: "Mailing_State", Type: TypeText, Length: 100},
			{APIName: "Mailing_Zip", Type: TypeText, Length: 30},
			{APIName: "Mailing_Country", Type: TypeText, Length: 100},
			{APIName: "Description", Type: TypeTextarea},
		}, append(systemFields(),
			Field{APIName: "Last_Activity_Time", Type: TypeDatetime, ReadOnly: true})...),
		Related: []RelatedList{
			{APIName: "Deals", Label: "Deals", Module: ModuleDeals, Field: "Contact_Name"},
			{APIName: "Tasks", Label: "Open Activities", Module: ModuleTasks, Field: "Who_Id"},
			{APIName: "Notes", Label: "Notes", Module: ModuleNotes, Field: "Parent_Id"},
		},
	},
	{
		APIName: ModuleDeals, ID: "5725767000000002179", Singular: "Deal", Plural: "Deals", ModuleName: "Potentials",
		APISupported: true, Status: "visible", BulkRead: true, NameField: "Deal_Name", DuplicateCheck: []string{"Deal_Name"},
		Fields: append([]Field{
			idField(),
			ownerField("Deal Owner"),
			{APIName: "Deal_Name", Type: TypeText, Length: 120, Mandatory: true},
			{APIName: "Account_Name", Type: TypeLookup, Lookup: ModuleAccounts},
			{APIName: "Contact_Name", Type: TypeLookup, Lookup: ModuleContacts},
			{APIName: "Amount", Type: TypeCurrency},
			// UNCONFIRMED: many orgs also make Closing_Date mandatory.
			{APIName: "Closing_Date", Type: TypeDate},
			{APIName: "Stage", Type: TypePicklist, Values: dealStages, Mandatory: true},
			{APIName: "Type", Type: TypePicklist, Values: dealTypes},
			{APIName: "Probability", Type: TypePercent, Label: "Probability (%)"},
			{APIName: "Expected_Revenue", Type: TypeCurrency, ReadOnly: true},
			{APIName: "Next_Step", Type: TypeText, Length: 100},
			{APIName: "Lead_Source", Type: TypePicklist, Values: leadSources},
			{APIName: "Description", Type: TypeTextarea},
		}, append(systemFields(),
			Field{APIName: "Last_Activity_Time", Type: TypeDatetime, ReadOnly: true})...),
		Related: []RelatedList{
			{APIName: "Tasks", Label: "Open Activities", Module: ModuleTasks, Field: "What_Id"},
			{APIName: "Notes", Label: "Notes", Module: ModuleNotes, Field: "Parent_Id"},
		},
	},
	{
		APIName: ModuleTasks, ID: "5725767000000002181", Singular: "Task", Plural: "Tasks", ModuleName: "Tasks",
		APISupported: true, Status: "visible", BulkRead: true, NameField: "Subject",
		Fields: append([]Field{
			idField(),
			ownerField("Task Owner"),
			{APIName: "Subject", Type: TypeText, Mandatory: true},
			{APIName: "Due_Date", Type: TypeDate},
			{APIName: "Status", Type: TypePicklist, Values: taskStatus},
			{APIName: "Priority", Type: TypePicklist, Values: taskPriority},
			// What_Id names its module in the record's $se_module key.
			{APIName: "What_Id", Type: TypeLookup, Label: "Related To",
				Modules: []string{ModuleAccounts, ModuleDeals, ModuleLeads, ModuleProjects}},
			{APIName: "Who_Id", Type: TypeLookup, Lookup: ModuleContacts, Label: "Contact Name"},
			{APIName: "Send_Notification_Email", Type: TypeBoolean, Label: "Send Notification Email"},
			{APIName: "Description", Type: TypeTextarea},
			{APIName: "Closed_Time", Type: TypeDatetime, ReadOnly: true},
		}, systemFields()...),
	},
	{
		APIName: ModuleNotes, ID: "5725767000000002183", Singular: "Note", Plural: "Notes", ModuleName: "Notes",
		APISupported: true, Status: "system_hidden", NameField: "Note_Title",
		Fields: append([]Field{
			idField(),
			ownerField("Note Owner"),
			{APIName: "Note_Title", Type: TypeText, Length: 120},
			{APIName: "Note_Content", Type: TypeTextarea, Mandatory: true},
			// v8 Parent_Id carries its module: {"module":{"api_name",
			// "id"},"name","id"}.
			{APIName: "Parent_Id", Type: TypeLookup, Mandatory: true, Label: "Parent ID",
				Modules: []string{ModuleAccounts, ModuleContacts, ModuleDeals, ModuleLeads, ModuleProjects}},
		}, systemFields()...),
	},
	{
		APIName: ModuleProjects, ID: "5725767000000002185", Singular: "Project", Plural: "Projects",
		ModuleName: "CustomModule1", Custom: true, APISupported: true, Status: "visible", BulkRead: true,
		NameField: "Name", DuplicateCheck: []string{"Name"},
		Fields: append([]Field{
			idField(),
			ownerField("Project Owner"),
			{APIName: "Name", Type: TypeText, Length: 120, Mandatory: true, Label: "Project Name"},
			{APIName: "Email", Type: TypeEmail},
			{APIName: "Secondary_Email", Type: TypeEmail},
			{APIName: "Email_Opt_Out", Type: TypeBoolean},
			{APIName: "Account", Type: TypeLookup, Lookup: ModuleAccounts, Custom: true},
			{APIName: "Project_Code", Type: TypeText, Length: 20, Unique: true, Custom: true},
			{APIName: "Status", Type: TypePicklist, Values: projectStatus, Custom: true},
			{APIName: "Budget", Type: TypeCurrency, Custom: true},
			{APIName: "Hours", Type: TypeDecimal, Custom: true},
			{APIName: "Hourly_Rate", Type: TypeDouble, Custom: true},
			{APIName: "Progress", Type: TypePercent, Custom: true},
			{APIName: "Team_Size", Type: TypeInteger, Custom: true},
			{APIName: "Start_Date", Type: TypeDate, Custom: true},
			{APIName: "Go_Live", Type: TypeDatetime, Custom: true, Label: "Go-Live"},
			{APIName: "Billable", Type: TypeBoolean, Custom: true},
			{APIName: "Tech_Stack", Type: TypeMultiSelect, Values: techStack, Custom: true},
			{APIName: "Description", Type: TypeTextarea, Custom: true},
		}, append(systemFields(),
			Field{APIName: "Last_Activity_Time", Type: TypeDatetime, ReadOnly: true})...),
		Related: []RelatedList{
			{APIName: "Tasks", Label: "Open Activities", Module: ModuleTasks, Field: "What_Id"},
			{APIName: "Notes", Label: "Notes", Module: ModuleNotes, Field: "Parent_Id"},
		},
	},
}

// registry indexes moduleDefs by API name and by id.
var registry = func() map[string]*Module {
	m := map[string]*Module{}
	for seq, mod := range moduleDefs {
		mod.seq = seq
		mod.index = make(map[string]*Field, len(mod.Fields))
		for i := range mod.Fields {
			mod.index[mod.Fields[i].APIName] = &mod.Fields[i]
		}
		for i := range mod.Related {
			mod.Related[i].ID = strconv.FormatInt(relatedListIDBase+int64(seq*100+i), 10)
		}
		m[mod.APIName] = mod
	}
	return m
}()

// Id bases of metadata: field ids, related list ids and picklist value ids.
const (
	fieldIDBase       = 5725767000000100000
	relatedListIDBase = 5725767000000091000
	picklistIDBase    = 5725767000000200000
)

// accounts is the Accounts module.
var accounts = registry[ModuleAccounts]

// LookupModule returns the module with the given API name (case-sensitive).
func LookupModule(apiName string) (*Module, bool) {
	m, ok := registry[apiName]
	return m, ok
}

// Modules returns every module in navigation order, Home (which the API
// does not serve) included.
func Modules() []*Module { return append([]*Module(nil), moduleDefs...) }

// moduleByID returns the module with the given id.
func moduleByID(id string) (*Module, bool) {
	for _, m := range moduleDefs {
		if m.ID == id {
			return m, true
		}
	}
	return nil, false
}

// fieldID is the id of field i of module m.
func (m *Module) fieldID(i int) string {
	return strconv.FormatInt(fieldIDBase+int64(m.seq*1000+i), 10)
}
