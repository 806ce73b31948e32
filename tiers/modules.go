package tiers

import "context"

// The operations that take the proxy beyond the record reads and updates of
// Tier to every module an org has: inserting records, reading a record's
// related lists and reading the org's metadata (ModuleTier).
const (
	OpCreate   OpKind = "create"
	OpRelated  OpKind = "related"
	OpMetadata OpKind = "metadata"
)

// CreateRequest inserts Records (1–MaxRecordsPerWrite) into Module. A
// record maps field API names to values and never holds "id". Trigger nil
// means Zoho's default (workflows run); an empty non-nil slice turns every
// trigger off.
type CreateRequest struct {
	Module  string
	Records []Record
	Trigger []string
	// Unique lists the module's unique fields (from its metadata). The
	// router uses them to settle a create whose outcome is unknown: a record
	// that sets one is found by it, and may be sent again safely, since Zoho
	// refuses a second record with the same value (DUPLICATE_DATA naming
	// the first). Nil means none are known.
	Unique []string
}

// CreateResult reports one outcome per input record, in input order.
type CreateResult struct {
	Outcomes []CreateOutcome
	Calls    int // Zoho API calls made
}

// CreateOutcome is the fate of one record of a create. Its ID is the new
// record's id when it was created, and empty when it was not (or its fate is
// unknown). Details holds Zoho's details of a per-record verdict (api_name,
// json_path, expected_data_type, supported_values, duplicate_record …), nil
// otherwise.
type CreateOutcome struct {
	Outcome
	Details map[string]any
}

// RelatedRequest asks for a page of the records of related list List (its
// API name, e.g. "Contacts") of the record ID of Module (e.g. an account's
// contacts). Empty Fields means the tier's default field list (Zoho's related
// records API requires one). Limit, PageToken, SortBy and SortOrder are as
// in ListRequest.
type RelatedRequest struct {
	Module    string
	ID        string
	List      string
	Fields    []string
	Limit     int
	PageToken string
	SortBy    string
	SortOrder string
}

// MetadataKind names what a MetadataRequest reads.
type MetadataKind string

// The metadata kinds: GET /crm/v8/settings/modules, /settings/fields?module=
// and /settings/related_lists?module= (or the hosted MCP's getModules,
// getFields and getRelatedLists tools).
const (
	MetaModules      MetadataKind = "modules"
	MetaFields       MetadataKind = "fields"
	MetaRelatedLists MetadataKind = "related_lists"
)

// MetadataRequest reads one kind of metadata; Module names the module for
// MetaFields and MetaRelatedLists and is empty for MetaModules.
type MetadataRequest struct {
	Kind   MetadataKind
	Module string
}

// Metadata is the answer to a MetadataRequest: the field its Kind names is
// set (possibly empty), the others are nil.
type Metadata struct {
	Modules      []ModuleMeta
	Fields       []FieldMeta
	RelatedLists []RelatedListMeta
}

// ModuleMeta is one module of the org as Zoho describes it.
type ModuleMeta struct {
	APIName       string `json:"api_name"`
	SingularLabel string `json:"singular_label"`
	PluralLabel   string `json:"plural_label"`
	// APISupported is false for modules the records API does not serve
	// (Home, dashboards, …).
	APISupported bool `json:"api_supported"`
	Creatable    bool `json:"creatable"`
	Editable     bool `json:"editable"`
	Custom       bool `json:"custom"` // generated_type "custom"
	// Status is Zoho's visibility status: visible, user_hidden,
	// system_hidden or scheduled_for_deletion.
	Status string `json:"status"`
}

// FieldMeta is one field of a module as Zoho describes it.
type FieldMeta struct {
	APIName  string `json:"api_name"`
	Label    string `json:"label"`
	DataType string `json:"data_type"` // Zoho's data_type: text, picklist, lookup, integer, …
	JSONType string `json:"json_type"` // string, integer, double, boolean, jsonobject, jsonarray
	Length   int    `json:"length,omitempty"`
	ReadOnly bool   `json:"read_only"` // read_only or field_read_only
	Required bool   `json:"required"`  // system_mandatory
	Unique   bool   `json:"unique"`    // "do not allow duplicate values"
	Custom   bool   `json:"custom"`
	// Picklist holds the values a picklist or multi-select picklist
	// accepts, in Zoho's order; nil for other fields.
	Picklist []PicklistValue `json:"picklist,omitempty"`
	// Lookup is the module a lookup field points to; LookupModules the
	// modules a multi-module lookup (What_Id, Parent_Id) may point to.
	Lookup        string   `json:"lookup,omitempty"`
	LookupModules []string `json:"lookup_modules,omitempty"`
}

// PicklistValue is one value of a picklist: the value shown and the value
// stored. Zoho takes either in a write.
type PicklistValue struct {
	Display string `json:"display_value"`
	Actual  string `json:"actual_value"`
}

// RelatedListMeta is one related list of a module: its API name (what a
// RelatedRequest's List names), its label and the module of its records.
type RelatedListMeta struct {
	APIName string `json:"api_name"`
	Label   string `json:"label"`
	Module  string `json:"module"`
}

// ModuleTier is implemented by a tier that serves every module beyond the
// reads and updates of Tier: inserts, related records and metadata. The
// router uses a tier for these operations only when it implements
// ModuleTier and Supports them. Errors are classified as for Tier.
type ModuleTier interface {
	// Create inserts records. Like Tier.BulkUpdate it returns an outcome
	// for every input record even when it also returns an error: records it
	// could not settle are StatusUnknown (sent, no answer) or StatusNotSent.
	// Per-record verdicts are in the outcomes, not the error.
	Create(ctx context.Context, req CreateRequest) (CreateResult, error)
	// Related reads a page of a record's related list.
	Related(ctx context.Context, req RelatedRequest) (Page, error)
	// Metadata reads the org's modules, or a module's fields or related
	// lists.
	Metadata(ctx context.Context, req MetadataRequest) (Metadata, error)
}

// RelatedKey is the QueryKey of a related-records request, shared by every
// tier like ListKey.
func RelatedKey(req RelatedRequest) string {
	return QueryKey("related", req.Module, req.ID, req.List, req.Fields, req.SortBy, req.SortOrder)
}
