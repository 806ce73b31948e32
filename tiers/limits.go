package tiers

// Zoho's request limits (reference §4, §5, §6, §7). The tools check an
// agent's arguments against them before a call is routed, and the tiers
// check a request against them again before anything is sent: both read
// them here.
const (
	// MaxFields is the most field API names one read may ask for.
	MaxFields = 50
	// MaxListIDs is the most record ids one list (ids=) may ask for.
	MaxListIDs = 100
	// MaxPageSize is the most records one page of a list or search holds;
	// a request with no page size (zero) asks for a full page.
	MaxPageSize = 200
	// MaxRecordsPerWrite is the most records one insert or update request
	// (PUT /crm/v8/{module}) takes.
	MaxRecordsPerWrite = 100
	// MaxInValues is the most values of an "in" condition, in search
	// criteria and in COQL.
	MaxInValues = 100
	// MaxSearchConditions is the most conditions of one search's criteria.
	MaxSearchConditions = 10
	// MaxCOQLConditions is the most conditions of a COQL WHERE clause.
	MaxCOQLConditions = 25
	// MaxBulkReadConditions is the most conditions of a Bulk Read job's
	// criteria.
	MaxBulkReadConditions = 25
	// MaxBulkWriteRecords is the most records of one Bulk Write file.
	MaxBulkWriteRecords = 25_000
	// MaxPageTokenLen is the longest page token the proxy issues or reads
	// (its own opaque tokens, see Cursor).
	MaxPageTokenLen = 1024
)
