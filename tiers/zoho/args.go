package zoho

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// InvalidData is the verdict of tier on a request Zoho would refuse, found
// before anything is sent: ClassVerdict with code INVALID_DATA.
func InvalidData(tier tiers.Name, format string, args ...any) *tiers.Error {
	return &tiers.Error{Tier: tier, Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: fmt.Sprintf(format, args...)}
}

// CheckModule returns tier's INVALID_MODULE verdict (Zoho's own code for a
// wrong module) when m is not a module API name (tiers.IsModuleName).
func CheckModule(tier tiers.Name, m string) error {
	if !tiers.IsModuleName(m) {
		return &tiers.Error{Tier: tier, Class: tiers.ClassVerdict, Code: "INVALID_MODULE",
			Message: fmt.Sprintf("module %q is not a Zoho module API name such as Accounts", tiers.Clip(m, 60))}
	}
	return nil
}

// CheckID returns tier's InvalidData verdict when id is not a record id.
func CheckID(tier tiers.Name, id string) error {
	if !tiers.IsRecordID(id) {
		return InvalidData(tier, "id %q is not a Zoho record id (1–19 digits)", tiers.Clip(id, 60))
	}
	return nil
}

// CheckFields returns tier's verdict when fs holds more than tiers.MaxFields names
// (LIMIT_EXCEEDED, as Zoho answers) or one that is not a field API name
// (INVALID_DATA); nil (and empty fs) is fine.
func CheckFields(tier tiers.Name, fs []string) error {
	if len(fs) > tiers.MaxFields {
		return limitExceeded(tier, "at most %d fields per read (got %d)", tiers.MaxFields, len(fs))
	}
	if i := slices.IndexFunc(fs, func(f string) bool { return !tiers.IsAPIName(f) }); i >= 0 {
		return InvalidData(tier, "field %q is not a Zoho field API name", fs[i])
	}
	return nil
}

// limitExceeded is tier's LIMIT_EXCEEDED verdict, the code Zoho answers a
// request over one of its limits with.
func limitExceeded(tier tiers.Name, format string, args ...any) *tiers.Error {
	return &tiers.Error{Tier: tier, Class: tiers.ClassVerdict, Code: "LIMIT_EXCEEDED", Message: fmt.Sprintf(format, args...)}
}

// CheckLimit returns the page size a list or search asks for: a full page
// (tiers.MaxPageSize) when n is zero, n when it is 1–200, otherwise tier's
// InvalidData verdict.
func CheckLimit(tier tiers.Name, n int) (int, error) {
	if n == 0 {
		return tiers.MaxPageSize, nil
	}
	if n < 1 || n > tiers.MaxPageSize {
		return 0, InvalidData(tier, "limit must be 1–%d (got %d)", tiers.MaxPageSize, n)
	}
	return n, nil
}

// CheckListIDs returns tier's verdict when a list asks for more than
// tiers.MaxListIDs ids (LIMIT_EXCEEDED) or for one that is not a record id
// (INVALID_DATA); nil ids are fine.
func CheckListIDs(tier tiers.Name, ids []string) error {
	if len(ids) > tiers.MaxListIDs {
		return limitExceeded(tier, "at most %d ids per list (got %d)", tiers.MaxListIDs, len(ids))
	}
	for _, id := range ids {
		if err := CheckID(tier, id); err != nil {
			return err
		}
	}
	return nil
}

// CheckListFilters returns tier's InvalidData verdict when a list filter is
// not an equality (other operators are the search's).
func CheckListFilters(tier tiers.Name, filters []tiers.Condition) error {
	for _, f := range filters {
		if f.Op != tiers.OpEquals {
			return InvalidData(tier, "list filters are equalities (got %s on %s); use search for other operators", f.Op, f.Field)
		}
	}
	return nil
}

// CheckSort returns the sort field and direction of a list: by is id,
// Created_Time or Modified_Time ("" means id), order asc or desc ("" means
// asc); anything else is tier's InvalidData verdict.
func CheckSort(tier tiers.Name, by, order string) (field string, desc bool, err error) {
	switch by {
	case "":
		by = "id"
	case "id", "Created_Time", "Modified_Time":
	default:
		return "", false, InvalidData(tier, "sort_by must be id, Created_Time or Modified_Time")
	}
	switch order {
	case "", "asc":
		return by, false, nil
	case "desc":
		return by, true, nil
	}
	return "", false, InvalidData(tier, "sort_order must be asc or desc")
}

// accountFields is the Accounts field list DefaultFields gives: the
// fields of reference §11 without id (every read returns it) and with Email.
var accountFields = []string{
	"Account_Name", "Owner", "Account_Number", "Account_Site", "Account_Type", "Annual_Revenue",
	"Employees", "Industry", "Ownership", "Rating", "SIC_Code", "Ticker_Symbol", "Phone", "Fax",
	"Website", "Description", "Parent_Account", "Billing_Street", "Billing_City",
	"Billing_State", "Billing_Code", "Billing_Country", "Shipping_Street", "Shipping_City",
	"Shipping_State", "Shipping_Code", "Shipping_Country", "Currency", "Exchange_Rate",
	"Created_Time", "Modified_Time", "Last_Activity_Time", "Created_By", "Modified_By",
}

// accountJSONTypes are the json_types of the Accounts fields of reference
// §11 that are not text: what FieldJSONTypes knows without asking Zoho.
var accountJSONTypes = map[string]string{
	"Owner": "jsonobject", "Parent_Account": "jsonobject", "Created_By": "jsonobject", "Modified_By": "jsonobject",
	"Account_Number": "integer", "Employees": "integer", "SIC_Code": "integer",
	"Annual_Revenue": "double", "Exchange_Rate": "double", "Locked__s": "boolean",
}

// FieldJSONTypes returns the json_type of the standard fields of module
// that are not text (reference §11; Accounts only), for typing values when
// Zoho's field metadata cannot be read. The map is the caller's.
func FieldJSONTypes(module string) map[string]string {
	out := map[string]string{}
	if strings.EqualFold(module, "Accounts") {
		for k, v := range accountJSONTypes {
			out[k] = v
		}
	}
	return out
}

// DefaultFields returns the fields every tier asks for when a read wants all
// of them and Zoho's API needs a list (GET ?fields=, ?ids=, COQL, a bulk read
// job): the standard Accounts fields of reference §11 for Accounts (any
// case; id comes back anyway), and id, Created_Time and Modified_Time for
// other modules. One list for all tiers, so a failover never changes the
// columns an agent gets; an org's custom fields are returned when named in
// fields. The slice is the caller's to change.
func DefaultFields(module string) []string {
	if strings.EqualFold(module, "Accounts") {
		return append([]string(nil), accountFields...)
	}
	return []string{"id", "Created_Time", "Modified_Time"}
}
