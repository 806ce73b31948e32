package permissions

import (
	"fmt"
	"slices"
	"strings"
)

// SearchKind is a search that matches fields the caller does not name:
// Zoho's email, phone and word searches (GET /crm/v8/{module}/search with
// email=, phone= or word=). A caller denied a field such a search matches
// could learn the field's values by searching for them, so the search is
// refused (DeniedSearch).
type SearchKind string

// The implicit searches of Zoho's search API.
const (
	// SearchEmail matches every email field of the module.
	SearchEmail SearchKind = "email"
	// SearchPhone matches every phone field of the module.
	SearchPhone SearchKind = "phone"
	// SearchWord is Zoho's global text search: it matches every field that
	// holds text (text, text area, email, phone, website, picklists,
	// lookups' names). Which types it covers is UNCONFIRMED; the rule
	// below errs on the side of refusing.
	SearchWord SearchKind = "word"
)

// SearchKinds returns the implicit searches in a stable order.
func SearchKinds() []SearchKind { return []SearchKind{SearchEmail, SearchPhone, SearchWord} }

// notText are the Zoho data types that hold no text, so that Zoho's word
// search cannot match them. Any other type, and a field whose type is not
// known, counts as text: a deny list fails closed.
var notText = []string{"integer", "bigint", "currency", "decimal", "double", "percent", "date", "datetime", "boolean"}

// Searches returns the implicit searches that match a field of Zoho data
// type dataType (the data_type of GET /crm/v8/settings/fields). An empty
// dataType means the type is not known: every implicit search may match
// such a field.
func Searches(dataType string) []SearchKind {
	switch {
	case dataType == "":
		return SearchKinds()
	case dataType == "email":
		return []SearchKind{SearchEmail, SearchWord}
	case dataType == "phone":
		return []SearchKind{SearchPhone, SearchWord}
	case slices.Contains(notText, dataType):
		return nil
	}
	return []SearchKind{SearchWord}
}

// standardTypes is the one table of the Zoho data types of the standard
// fields of the modules the proxy knows without asking Zoho (reference:
// Zoho's field metadata of each module). A field not listed, say a custom
// one, has an unknown type. Module-generic tools that read the org's field
// metadata pass its types to DeniedSearch instead.
var standardTypes = map[string]map[string]string{
	"Accounts": fieldTypes(
		"text", "Account_Name", "Account_Site", "Ticker_Symbol", "Billing_Street", "Billing_City", "Billing_State",
		"Billing_Code", "Billing_Country", "Shipping_Street", "Shipping_City", "Shipping_State", "Shipping_Code", "Shipping_Country",
		"textarea", "Description",
		"phone", "Phone", "Fax",
		"website", "Website",
		"picklist", "Account_Type", "Industry", "Ownership", "Rating", "Currency", "Record_Status__s", "Enrich_Status__s",
		"ownerlookup", "Owner", "Created_By", "Modified_By",
		"lookup", "Parent_Account",
		"bigint", "Account_Number", "id",
		"currency", "Annual_Revenue",
		"integer", "Employees", "SIC_Code",
		"decimal", "Exchange_Rate",
		"datetime", "Created_Time", "Modified_Time", "Last_Activity_Time", "Change_Log_Time__s", "Last_Enriched_Time__s",
		"boolean", "Locked__s",
	),
	"Contacts": fieldTypes(
		"text", "First_Name", "Last_Name", "Full_Name", "Title", "Department", "Mailing_Street", "Mailing_City",
		"Mailing_State", "Mailing_Zip", "Mailing_Country",
		"textarea", "Description",
		"email", "Email", "Secondary_Email",
		"phone", "Phone", "Mobile", "Home_Phone", "Other_Phone", "Asst_Phone", "Fax",
		"picklist", "Salutation", "Lead_Source",
		"ownerlookup", "Owner", "Created_By", "Modified_By",
		"lookup", "Account_Name",
		"bigint", "id",
		"date", "Date_of_Birth",
		"datetime", "Created_Time", "Modified_Time", "Last_Activity_Time",
		"boolean", "Email_Opt_Out",
	),
	"Leads": fieldTypes(
		"text", "First_Name", "Last_Name", "Full_Name", "Company", "Designation", "Street", "City", "State", "Zip_Code", "Country",
		"textarea", "Description",
		"email", "Email", "Secondary_Email",
		"phone", "Phone", "Mobile", "Fax",
		"website", "Website",
		"picklist", "Salutation", "Lead_Source", "Lead_Status", "Industry", "Rating",
		"ownerlookup", "Owner", "Created_By", "Modified_By",
		"bigint", "id",
		"integer", "No_of_Employees",
		"currency", "Annual_Revenue",
		"datetime", "Created_Time", "Modified_Time", "Last_Activity_Time",
		"boolean", "Email_Opt_Out",
	),
	"Deals": fieldTypes(
		"text", "Deal_Name", "Next_Step",
		"textarea", "Description",
		"picklist", "Stage", "Type", "Lead_Source",
		"ownerlookup", "Owner", "Created_By", "Modified_By",
		"lookup", "Account_Name", "Contact_Name",
		"bigint", "id",
		"currency", "Amount", "Expected_Revenue",
		"percent", "Probability",
		"date", "Closing_Date",
		"datetime", "Created_Time", "Modified_Time", "Last_Activity_Time",
	),
	"Tasks": fieldTypes(
		"text", "Subject",
		"textarea", "Description",
		"picklist", "Status", "Priority",
		"ownerlookup", "Owner", "Created_By", "Modified_By",
		"lookup", "What_Id", "Who_Id",
		"bigint", "id",
		"date", "Due_Date",
		"datetime", "Created_Time", "Modified_Time", "Closed_Time",
		"boolean", "Send_Notification_Email",
	),
	"Notes": fieldTypes(
		"text", "Note_Title",
		"textarea", "Note_Content",
		"ownerlookup", "Owner", "Created_By", "Modified_By",
		"lookup", "Parent_Id",
		"bigint", "id",
		"datetime", "Created_Time", "Modified_Time",
	),
}

// fieldTypes builds a field → type map from a list in which each type name
// is followed by the fields of that type. A type name is known by being
// lower case.
func fieldTypes(list ...string) map[string]string {
	out := make(map[string]string, len(list))
	typ := ""
	for _, s := range list {
		if s == "id" || s[0] < 'a' || s[0] > 'z' {
			out[s] = typ
			continue
		}
		typ = s
	}
	return out
}

// StandardType returns the Zoho data type of a standard field of module,
// or "" when the proxy does not know it (a custom field, an unknown module).
func StandardType(module, field string) string {
	fields := standardTypes[module]
	if t, ok := fields[field]; ok {
		return t
	}
	for f, t := range fields { // deny lists compare case-insensitively (Denied)
		if strings.EqualFold(f, field) {
			return t
		}
	}
	return ""
}

// DeniedSearch reports whether a kind search on module would match a field
// p denies in module (DeniedFields: fields.deny and fields.deny_in), and
// names the first such field. typeOf gives
// a field's Zoho data type ("" when not known); nil means StandardType of
// module. A nil profile denies nothing.
func (p *Profile) DeniedSearch(module string, kind SearchKind, typeOf func(field string) string) (field string, denied bool) {
	if p == nil {
		return "", false
	}
	if typeOf == nil {
		typeOf = func(f string) string { return StandardType(module, f) }
	}
	for _, f := range p.DeniedFields(module) {
		if slices.Contains(Searches(typeOf(f)), kind) {
			return f, true
		}
	}
	return "", false
}

// SearchRefusal is the message of a kind search refused because it would
// match field, which profile denies: what the search covers and what to do.
func SearchRefusal(kind SearchKind, module, field, profile string) string {
	what := map[SearchKind]string{
		SearchEmail: "an email search matches every email field",
		SearchPhone: "a phone search matches every phone field",
		SearchWord:  "a word search matches every text field",
	}[kind]
	return fmt.Sprintf("%s of %s, and field %s is denied for profile %q, so the search could reveal it; "+
		"search with where on fields you may use instead", what, module, field, profile)
}
