// Package tiers holds what the router and every tier implementation share:
// the operations a tier performs, the Tier interface, and the error classes
// the router uses to decide between failing over and answering the caller.
//
// Data flows one way: tools → router → tiers. Nothing in this package or its
// sub-packages imports the router.
package tiers

import (
	"context"
	"encoding/json"
)

// Name identifies a tier. The values are the names users see in metrics,
// health output and routing provenance.
type Name string

// The three tiers, in their default priority order.
const (
	MCP  Name = "MCP"  // Zoho's hosted MCP endpoint (tier 1)
	Bulk Name = "BULK" // multi-record REST calls, COQL and the Bulk Read/Write APIs (tier 2)
	REST Name = "REST" // plain Zoho CRM REST API v8, one call per operation (tier 3)
)

// OpKind names an operation. It is the "operation" label of tier metrics.
type OpKind string

// The operations a tier may support.
const (
	OpGet        OpKind = "get"
	OpList       OpKind = "list"
	OpSearch     OpKind = "search"
	OpUpdate     OpKind = "update"
	OpBulkRead   OpKind = "bulk_read"
	OpBulkUpdate OpKind = "bulk_update"
)

// Record is one Zoho record as decoded JSON (numbers as json.Number). Keys are
// Zoho field API names; "id" is always a string of digits.
type Record = map[string]any

// Operator is a structured search operator. The proxy compiles conditions to
// Zoho criteria or COQL itself; no raw criteria string ever reaches a tier.
type Operator string

// The search operators of SPEC §4.
const (
	OpEquals       Operator = "equals"
	OpNotEqual     Operator = "not_equal"
	OpStartsWith   Operator = "starts_with"
	OpIn           Operator = "in"
	OpGreaterThan  Operator = "greater_than"
	OpGreaterEqual Operator = "greater_equal"
	OpLessThan     Operator = "less_than"
	OpLessEqual    Operator = "less_equal"
	OpBetween      Operator = "between"
)

// Condition is one structured search condition. Values holds one value for
// scalar operators, 1–100 values for OpIn and exactly two for OpBetween. A
// value is a string, a json.Number, a float64, an int or a bool.
type Condition struct {
	Field  string
	Op     Operator
	Values []any
}

// GetRequest asks for one record. Empty Fields means all fields.
type GetRequest struct {
	Module string
	ID     string
	Fields []string
}

// ListRequest asks for a page of records, either by IDs (≤100) or by equality
// Filters (all must match). Limit is 1–200. PageToken is an opaque token from
// a previous Page (see PageToken); empty means the first page.
type ListRequest struct {
	Module    string
	IDs       []string
	Filters   []Condition
	Fields    []string
	Limit     int
	PageToken string
	SortBy    string // "id", "Created_Time" or "Modified_Time"; empty means id
	SortOrder string // "asc" or "desc"; empty means asc
}

// SearchRequest asks for records matching Where (combined by MatchAny: false
// = all, true = any) or, when Where is empty, exactly one of Word, Email or
// Phone.
type SearchRequest struct {
	Module    string
	Where     []Condition
	MatchAny  bool
	Word      string
	Email     string
	Phone     string
	Fields    []string
	Limit     int
	PageToken string
}

// Page is one page of a list or search.
type Page struct {
	Records       []Record
	MoreRecords   bool
	NextPageToken string // empty when MoreRecords is false
}

// UpdateRequest updates one record. Trigger nil means Zoho's default
// (workflows run); an empty non-nil slice turns every trigger off.
type UpdateRequest struct {
	Module  string
	ID      string
	Data    Record
	Trigger []string
}

// OutcomeStatus is the fate of one record in a write.
type OutcomeStatus string

// The write outcomes. Unknown means the request was sent and no answer came:
// the record may or may not have been written. NotSent means the tier never
// sent the record.
const (
	StatusSuccess OutcomeStatus = "success"
	StatusError   OutcomeStatus = "error"
	StatusUnknown OutcomeStatus = "unknown"
	StatusNotSent OutcomeStatus = "not_sent"
)

// Outcome is the result of writing one record.
type Outcome struct {
	ID      string        `json:"id"`
	Status  OutcomeStatus `json:"status"`
	Code    string        `json:"code,omitempty"`
	Message string        `json:"message,omitempty"`
}

// BulkUpdateRequest updates many records (up to 25,000). Each Update carries
// its own ID; Module and Trigger apply to all.
type BulkUpdateRequest struct {
	Module  string
	Updates []UpdateRequest
	Trigger []string
}

// BulkUpdateResult reports one outcome per input record, in input order, plus
// how the tier did the work.
type BulkUpdateResult struct {
	Outcomes []Outcome
	Strategy string // e.g. "batched-put" or "bulk-write-job"; empty if not applicable
	Calls    int    // Zoho API calls made
	Credits  int    // Zoho API credits spent (estimated from Zoho's cost table)
}

// BulkReadRequest reads many records, by IDs or by Where conditions (all must
// match). Empty Fields means all fields.
type BulkReadRequest struct {
	Module string
	IDs    []string
	Where  []Condition
	Fields []string
}

// RecordSink receives the records of a bulk read as they stream in, so that
// no tier holds a whole export in memory. Reset discards what was written: the
// router calls it before retrying the read on another tier.
type RecordSink interface {
	Write(Record) error
	Reset() error
}

// BulkReadResult summarises a bulk read whose records went to a RecordSink.
type BulkReadResult struct {
	Count    int
	Strategy string
	Calls    int
	Credits  int
}

// Tier is what the router knows of a tier. Every method returns an error
// classified with an *Error (see Classify) so the router can decide whether to
// fail over.
type Tier interface {
	// Name returns the tier's name.
	Name() Name
	// Configured reports whether the tier has the credentials and endpoint it
	// needs. An unconfigured tier is skipped, not counted as down.
	Configured() bool
	// Supports reports whether the tier can perform op at all. A tier whose
	// support depends on its upstream (MCP) answers true and returns a
	// ClassUnsupported error when it finds out otherwise.
	Supports(op OpKind) bool
	// Probe checks that the tier can reach Zoho (cheaply) for readiness checks.
	Probe(ctx context.Context) error

	Get(ctx context.Context, req GetRequest) (Record, error)
	List(ctx context.Context, req ListRequest) (Page, error)
	Search(ctx context.Context, req SearchRequest) (Page, error)
	Update(ctx context.Context, req UpdateRequest) (Outcome, error)
	// BulkUpdate returns outcomes for every input record even when it also
	// returns an error: records it could not settle are StatusUnknown (sent,
	// no answer) or StatusNotSent.
	BulkUpdate(ctx context.Context, req BulkUpdateRequest) (BulkUpdateResult, error)
	BulkRead(ctx context.Context, req BulkReadRequest, sink RecordSink) (BulkReadResult, error)
}

// RawGetter is implemented by a tier that can hand over one record as the
// JSON object Zoho sent, undecoded, so that a read passes through the proxy
// without every field being decoded into a Record and encoded again. GetRaw
// answers exactly as Get would (the same errors, the same projection to
// req.Fields); the bytes are one valid JSON object. The router falls back to
// Get (and encodes its Record) for a tier without it.
type RawGetter interface {
	GetRaw(ctx context.Context, req GetRequest) (json.RawMessage, error)
}

// JobAwaiter is implemented by a tier whose BulkUpdate can leave records
// pending on a job it started (an error whose PendingJob names it); tiers/bulk
// does. The router waits for such a job through it instead of sending the
// records again.
type JobAwaiter interface {
	// AwaitBulkUpdateJob waits for job and returns the outcomes of
	// req.Updates, the records pending on it, like BulkUpdate. Records it
	// leaves unknown are still pending when its error names the job again.
	AwaitBulkUpdateJob(ctx context.Context, job string, req BulkUpdateRequest) (BulkUpdateResult, error)
}

// Detailer is implemented by a tier that can say what it needs before it can
// serve, for operators: tier 1 answers "tier 1 needs `zoho-mcp-proxy login`:
// …" when its endpoint asks for OAuth and no login is stored. The router
// shows it in the tier's health (get_tier_health, /readyz) and `check` in
// its finding.
type Detailer interface {
	// Detail returns what the tier needs and how to fix it, or "" when it
	// needs nothing.
	Detail() string
}
