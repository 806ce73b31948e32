package zohosim

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metadata APIs (reference §11, §12; crm-oas v8.0 modules getModules /
// getModuleByApiName, fields getFields, related_lists getRelatedLists):
//
//	GET /crm/v8/settings/modules[?status=visible,…]    {"modules":[…]}
//	GET /crm/v8/settings/modules/{api_name or id}      {"modules":[one]}
//	GET /crm/v8/settings/fields?module=X[&type=all]    {"fields":[…]}
//	GET /crm/v8/settings/fields/{id}?module=X          {"fields":[one]}
//	GET /crm/v8/settings/related_lists?module=X        {"related_lists":[…]}
//	GET /crm/v8/settings/related_lists/{id}?module=X   {"related_lists":[one]}
//
// Each costs one credit. Scopes: ZohoCRM.settings.modules.READ,
// ZohoCRM.settings.fields.READ, ZohoCRM.settings.related_lists.READ (or
// their .ALL, or ZohoCRM.settings.ALL). A module param that is missing is
// 400 REQUIRED_PARAM_MISSING {param_name: module}; one that names no module
// 400 INVALID_MODULE {param_name: module}; one the API does not serve
// (Home) 400 NOT_SUPPORTED {param_name: module}. The fields list leaves out
// the record id (UNCONFIRMED: whether Zoho lists it).

// moduleStatuses are the values of the modules list's status filter.
var moduleStatuses = []string{"visible", "user_hidden", "system_hidden", "scheduled_for_deletion"}

// profiles are the org's profiles, shown on modules and fields.
var profiles = []map[string]any{
	{"name": "Administrator", "id": "5725767000000026011"},
	{"name": "Standard", "id": "5725767000000026014"},
}

// serveSettings routes /crm/v8/settings/….
func (s *Sim) serveSettings(w http.ResponseWriter, r *http.Request, segs []string) {
	if len(segs) < 2 || len(segs) > 3 {
		invalidURL(w)
		return
	}
	var h func(w http.ResponseWriter, r *http.Request, id string)
	switch segs[1] {
	case "modules":
		h = s.handleModules
	case "fields":
		h = s.handleFields
	case "related_lists":
		h = s.handleRelatedLists
	default:
		invalidURL(w)
		return
	}
	if r.Method != http.MethodGet {
		invalidMethod(w, len(segs)-1)
		return
	}
	id := ""
	if len(segs) == 3 {
		if id = segs[2]; id == "" {
			invalidURL(w)
			return
		}
	}
	h(w, r, id)
}

// handleModules serves the modules list and one module by API name or id.
func (s *Sim) handleModules(w http.ResponseWriter, r *http.Request, ident string) {
	want := moduleStatuses
	if v := r.URL.Query().Get("status"); v != "" && ident == "" {
		want = strings.Split(v, ",")
		for i, st := range want {
			if !bulkContains(moduleStatuses, st) {
				writeZohoError(w, errPtr("INVALID_DATA", "The status given is invalid.",
					map[string]any{"index": i, "supported_values": moduleStatuses, "param_name": "status"}))
				return
			}
		}
	}
	if !s.spend(w, 1) {
		return
	}
	if ident != "" {
		m, ok := registry[ident]
		if !ok {
			m, ok = moduleByID(ident)
		}
		if !ok {
			writeError(w, http.StatusBadRequest, "INVALID_MODULE", "the module name given seems to be invalid",
				map[string]any{"resource_path_index": 2})
			return
		}
		if !m.hasRecords() {
			// getModuleByApiName: a module this endpoint does not expose is 204.
			w.WriteHeader(http.StatusNoContent)
			return
		}
		mj := moduleJSON(m)
		related := make([]any, 0, len(m.Related))
		for i := range m.Related {
			related = append(related, relatedListJSON(m, i))
		}
		mj["related_lists"] = related
		mj["per_page"] = maxPerPage
		mj["search_layout_fields"] = searchLayoutFields(m)
		writeJSON(w, http.StatusOK, map[string]any{"modules": []any{mj}})
		return
	}
	var out []any
	for _, m := range moduleDefs {
		if bulkContains(want, m.Status) {
			out = append(out, moduleJSON(m))
		}
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"modules": out})
}

// searchLayoutFields are the first few text fields, as a search layout shows.
func searchLayoutFields(m *Module) []string {
	out := []string{}
	for _, f := range m.Fields {
		if (f.Type == TypeText || f.Type == TypeEmail || f.Type == TypePhone) && !f.ReadOnly && len(out) < 4 {
			out = append(out, f.APIName)
		}
	}
	return out
}

// moduleJSON is a module as the modules API shows it (getModules keys).
func moduleJSON(m *Module) map[string]any {
	api := m.hasRecords()
	records := api && m.APIName != ModuleNotes
	generated := "default"
	var modifiedTime, modifiedBy any
	if m.Custom {
		generated = "custom"
		modifiedTime = formatTime(seedEpoch.Add(-30 * 24 * time.Hour))
		modifiedBy = map[string]any{"name": owners[0]["name"], "id": owners[0]["id"]}
	}
	return map[string]any{
		"has_more_profiles":         false,
		"access_type":               "org_based",
		"private_profile":           nil,
		"global_search_supported":   api,
		"deletable":                 api,
		"description":               nil,
		"creatable":                 api,
		"recycle_bin_on_delete":     api,
		"modified_time":             modifiedTime,
		"plural_label":              m.Plural,
		"presence_sub_menu":         records,
		"actual_plural_label":       m.Plural,
		"lookupable":                records && m.APIName != ModuleTasks,
		"id":                        m.ID,
		"isBlueprintSupported":      records,
		"visibility":                1,
		"convertable":               m.APIName == ModuleLeads,
		"sub_menu_available":        records,
		"editable":                  api,
		"actual_singular_label":     m.Singular,
		"profiles":                  profiles,
		"show_as_tab":               m.Status == "visible",
		"web_link":                  nil,
		"sequence_number":           m.seq + 1,
		"singular_label":            m.Singular,
		"viewable":                  true,
		"api_supported":             api,
		"api_name":                  m.APIName,
		"quick_create":              records,
		"modified_by":               modifiedBy,
		"generated_type":            generated,
		"feeds_required":            false,
		"public_fields_configured":  false,
		"arguments":                 []any{},
		"module_name":               m.ModuleName,
		"profile_count":             len(profiles),
		"business_card_field_limit": 5,
		"parent_module":             map[string]any{},
		"status":                    m.Status,
	}
}

// moduleParam reads the module query param of the fields and related lists
// APIs, writing the error and returning false when it is missing or bad.
func moduleParam(w http.ResponseWriter, r *http.Request) (*Module, bool) {
	name := r.URL.Query().Get("module")
	if name == "" {
		writeZohoError(w, errPtr("REQUIRED_PARAM_MISSING", "One of the expected parameter is missing",
			map[string]any{"param_name": "module"}))
		return nil, false
	}
	m, ok := registry[name]
	if !ok {
		writeZohoError(w, errPtr("INVALID_MODULE", "the module name given seems to be invalid",
			map[string]any{"param_name": "module"}))
		return nil, false
	}
	if !m.hasRecords() {
		writeZohoError(w, errPtr("NOT_SUPPORTED", "The given module is not supported in API",
			map[string]any{"param_name": "module"}))
		return nil, false
	}
	return m, true
}

// handleFields serves the fields of a module, or one field by id.
func (s *Sim) handleFields(w http.ResponseWriter, r *http.Request, id string) {
	m, ok := moduleParam(w, r)
	if !ok {
		return
	}
	t := r.URL.Query().Get("type")
	if t != "" && t != "all" && t != "used" && t != "unused" {
		writeZohoError(w, errPtr("INVALID_DATA", "the type given seems to be invalid",
			map[string]any{"param_name": "type", "supported_values": []string{"all", "used", "unused"}}))
		return
	}
	if !s.spend(w, 1) {
		return
	}
	if t == "unused" {
		w.WriteHeader(http.StatusNoContent) // every field of the emulator's layouts is used
		return
	}
	out := []any{}
	for i := range m.Fields {
		if m.Fields[i].APIName == "id" || (id != "" && m.fieldID(i) != id) {
			continue
		}
		out = append(out, fieldJSON(m, i))
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": out})
}

// jsonTypes is each data type's json_type. UNCONFIRMED: bigint as integer
// (the emulator serves Account_Number as a JSON number).
var jsonTypes = map[FieldType]string{TypeText: "string", TypeTextarea: "string", TypeEmail: "string",
	TypePhone: "string", TypeWebsite: "string", TypePicklist: "string", TypeMultiSelect: "jsonarray",
	TypeInteger: "integer", TypeBigint: "integer", TypeCurrency: "double", TypeDecimal: "double",
	TypeDouble: "double", TypePercent: "double", TypeBoolean: "boolean", TypeDate: "string",
	TypeDatetime: "string", TypeLookup: "jsonobject", TypeOwnerLookup: "jsonobject", TypeID: "string"}

// uiTypes is each data type's ui_type. UNCONFIRMED: Zoho's numbering.
var uiTypes = map[FieldType]int{TypeText: 1, TypePicklist: 2, TypeTextarea: 3, TypeEmail: 25, TypePhone: 33,
	TypeWebsite: 21, TypeMultiSelect: 100, TypeInteger: 32, TypeBigint: 32, TypeCurrency: 36, TypeDecimal: 38,
	TypeDouble: 38, TypePercent: 39, TypeBoolean: 301, TypeDate: 24, TypeDatetime: 333, TypeLookup: 133,
	TypeOwnerLookup: 8, TypeID: 1}

// decimalPlaces is the decimal_place of number types (null for the rest).
var decimalPlaces = map[FieldType]int{TypeCurrency: 2, TypeDecimal: 2, TypeDouble: 9, TypePercent: 2}

// fieldJSON is field i of m as the fields API shows it (getFields keys).
func fieldJSON(m *Module, i int) map[string]any {
	f := &m.Fields[i]
	label := f.label()
	writable := !f.ReadOnly
	pick := []any{}
	for k, v := range f.Values {
		pv := map[string]any{"display_value": v, "sequence_number": k + 1, "reference_value": v,
			"colour_code": nil, "actual_value": v, "type": "used",
			"id": strconv.FormatInt(picklistIDBase+int64((m.seq*1000+i)*50+k), 10)}
		if f.APIName == "Stage" && m.APIName == ModuleDeals {
			pv["probability"] = stageProbability[v]
			pv["forecast_type"] = map[bool]string{true: "Closed", false: "Open"}[strings.HasPrefix(v, "Closed")]
		}
		pick = append(pick, pv)
	}
	lookup := map[string]any{}
	if f.Type == TypeLookup && f.Lookup != "" {
		target := registry[f.Lookup]
		lookup = map[string]any{"display_label": label, "revalidate_filter_during_edit": false, "api_name": nil,
			"module": map[string]any{"api_name": target.APIName, "id": target.ID, "crypt": false}, "id": nil,
			"query_details": map[string]any{}}
		for k, rl := range target.Related {
			if rl.Module == m.APIName && rl.Field == f.APIName {
				lookup["display_label"], lookup["api_name"], lookup["id"] = rl.Label, rl.APIName, target.Related[k].ID
			}
		}
	}
	mml := map[string]any{}
	if f.multiModule() {
		mods := []any{}
		for _, name := range f.Modules {
			t := registry[name]
			mods = append(mods, map[string]any{"api_name": t.APIName, "module_name": t.ModuleName, "id": t.ID})
		}
		mml = map[string]any{"display_label": label, "api_name": f.APIName, "modules": mods}
	}
	unique := map[string]any{}
	if f.Unique {
		unique["case_sensitive"] = false
	}
	currency := map[string]any{}
	if f.Type == TypeCurrency {
		currency = map[string]any{"rounding_option": "normal", "precision": 2}
	}
	var decimal any
	if d, ok := decimalPlaces[f.Type]; ok {
		decimal = d
	}
	source, column := "default", strings.ToUpper(strings.ReplaceAll(f.APIName, "_", ""))
	if f.Custom {
		source, column = "crm", strings.ToUpper(m.ModuleName)+"CF"+strconv.Itoa(i)
	}
	fieldProfiles := make([]any, 0, len(profiles))
	for _, p := range profiles {
		perm := "read_write"
		if f.ReadOnly {
			perm = "read_only"
		}
		fieldProfiles = append(fieldProfiles, map[string]any{"permission_type": perm, "name": p["name"], "id": p["id"]})
	}
	return map[string]any{
		"associated_module":                 nil,
		"webhook":                           true,
		"operation_type":                    map[string]any{"web_update": writable, "api_create": writable, "web_create": writable, "api_update": writable},
		"colour_code_enabled_by_system":     false,
		"field_label":                       label,
		"tooltip":                           nil,
		"type":                              "used",
		"field_read_only":                   f.ReadOnly,
		"customizable_properties":           []any{},
		"display_label":                     label,
		"read_only":                         f.ReadOnly,
		"association_details":               nil,
		"businesscard_supported":            !f.ReadOnly,
		"multi_module_lookup":               mml,
		"id":                                m.fieldID(i),
		"created_time":                      nil,
		"filterable":                        true,
		"visible":                           true,
		"profiles":                          fieldProfiles,
		"view_type":                         map[string]any{"view": true, "edit": writable, "quick_create": f.Mandatory, "create": writable},
		"separator":                         false,
		"searchable":                        f.Type != TypeBoolean,
		"history_tracking_enabled":          false,
		"external":                          nil,
		"api_name":                          f.APIName,
		"parent_field":                      nil,
		"unique":                            unique,
		"enable_colour_code":                false,
		"child_fields":                      nil,
		"pick_list_values":                  pick,
		"system_mandatory":                  f.Mandatory,
		"private":                           nil,
		"virtual_field":                     false,
		"json_type":                         jsonTypes[f.Type],
		"crypt":                             nil,
		"range":                             nil,
		"created_source":                    source,
		"display_type":                      -1,
		"ui_type":                           uiTypes[f.Type],
		"modified_time":                     nil,
		"public":                            false,
		"email_parser":                      map[string]any{"fields_update_supported": false, "record_operations_supported": false},
		"currency":                          currency,
		"custom_field":                      f.Custom,
		"lookup":                            lookup,
		"hipaa_compliance":                  nil,
		"address":                           nil,
		"rollup_summary":                    map[string]any{},
		"length":                            f.maxLen(),
		"column_name":                       column,
		"display_field":                     f.APIName == m.NameField,
		"pick_list_values_sorted_lexically": false,
		"sortable":                          f.Type != TypeMultiSelect,
		"global_picklist":                   nil,
		"display_format":                    nil,
		"history_tracking":                  nil,
		"data_type":                         string(f.Type),
		"formula":                           map[string]any{},
		"additional_column":                 nil,
		"hipaa_compliance_enabled":          false,
		"decimal_place":                     decimal,
		"mass_update":                       writable && !f.Unique,
		"multiselectlookup":                 map[string]any{},
		"auto_number":                       map[string]any{},
	}
}

// handleRelatedLists serves the related lists of a module, or one by id.
func (s *Sim) handleRelatedLists(w http.ResponseWriter, r *http.Request, id string) {
	m, ok := moduleParam(w, r)
	if !ok || !s.spend(w, 1) {
		return
	}
	out := []any{}
	for i := range m.Related {
		if id == "" || m.Related[i].ID == id {
			out = append(out, relatedListJSON(m, i))
		}
	}
	if len(out) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"related_lists": out})
}

// relatedListJSON is related list i of m as the related lists API shows it.
// UNCONFIRMED: href (null here).
func relatedListJSON(m *Module, i int) map[string]any {
	rl := &m.Related[i]
	child := registry[rl.Module]
	return map[string]any{
		"id":                      rl.ID,
		"sequence_number":         strconv.Itoa(i + 1),
		"display_label":           rl.Label,
		"api_name":                rl.APIName,
		"module":                  map[string]any{"api_name": child.APIName, "id": child.ID, "plural_label": child.Plural},
		"name":                    rl.APIName,
		"action":                  nil,
		"href":                    nil,
		"type":                    "default",
		"customize_sort":          true,
		"customize_fields":        true,
		"customize_display_label": true,
		"status":                  "visible",
		"visibility":              1,
	}
}
