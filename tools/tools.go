// Package tools defines the MCP tools and prompts of the proxy: each tool
// one value made by one constructor, holding its definition, its scopes and
// its handler; toolsets group them for --toolsets, --tools and --read-only.
package tools

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/metadata"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Module is the Zoho CRM module every account tool works on.
const Module = "Accounts"

// DefaultInlineLimit is how many records bulk_read_accounts returns inline
// when Deps.InlineLimit is zero.
const DefaultInlineLimit = 200

// Tool is one MCP tool: its definition (name, description, annotations,
// input and output schemas), the scopes a caller needs to see and call it,
// and its handler.
type Tool struct {
	Def     mcp.Tool
	Scopes  []permissions.Scope
	Handler server.ToolHandlerFunc
	// Toolset is the toolset the tool belongs to (ToolsetAccounts,
	// ToolsetRecords, ToolsetMonitor); All sets it.
	Toolset string
	// AlsoIn are other toolsets that enable the tool too: read_bulk_result
	// and get_bulk_job serve the bulk tools of accounts and of records.
	AlsoIn []string
	// Modules are the modules the tool is bound to (the Account tools:
	// Accounts); nil for the generic tools, which name theirs per call.
	Modules []string

	// parse is the handler's argument parser, for tests and fuzzing.
	parse func(raw []byte, p *permissions.Profile) (any, error)
	// params lists the tool's arguments (a fresh, unbound list), for the
	// deny-list probes.
	params func() []param
}

// Deps are what the tool handlers need.
type Deps struct {
	// Router serves every account operation and the monitor tools. Required.
	Router *router.Router
	// Logger receives the rare failures that are not the agent's to see
	// (e.g. a temp file that cannot be written). Nil discards.
	Logger *slog.Logger
	// InlineLimit is the largest bulk_read_accounts result returned inline;
	// zero means DefaultInlineLimit.
	InlineLimit int
	// Bulk keeps the bulk tools' large results (bulk_read_accounts'
	// records, bulk_update_accounts' per-record outcomes) and job handles,
	// each bound to the caller that made it (permissions.CallerFrom), as
	// MCP resources. Nil means larger reads are refused with an isError
	// result asking the agent to narrow the read, and bulk updates return
	// their failures only.
	Bulk ResultStore
	// Now is the tools' clock; nil means time.Now. Bulk results expire by
	// the store's own clock.
	Now func() time.Time
	// Metadata is the org's module metadata, which the generic record tools
	// check their arguments against and describe_module shows. Nil means
	// those tools answer that the metadata is not available.
	Metadata *metadata.Cache
	// Text is what the text content of a result with structured content
	// carries besides its summary line (result_text): TextFull, the zero
	// value, also the content as JSON; TextSummary nothing more.
	Text TextMode
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.InlineLimit <= 0 {
		d.InlineLimit = DefaultInlineLimit
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// All returns every tool in a stable order: the nine of SPEC §4 (the
// Account tools and the monitor tools) and the generic record tools of SPEC
// §11 (bulk_read_records and bulk_update_records last), then
// read_bulk_result and get_bulk_job (the bulk tools' results and jobs, bound
// to their caller, not a module), each with its toolset.
func All(d Deps) []Tool {
	d = d.withDefaults()
	return []Tool{
		in(ToolsetAccounts, GetAccount(d), Module),
		in(ToolsetAccounts, GetAccounts(d), Module),
		in(ToolsetAccounts, SearchAccounts(d), Module),
		in(ToolsetAccounts, UpdateAccount(d), Module),
		in(ToolsetAccounts, BulkReadAccounts(d), Module),
		in(ToolsetAccounts, BulkUpdateAccounts(d), Module),
		in(ToolsetMonitor, GetTierHealth(d)),
		in(ToolsetMonitor, GetTierMetrics(d)),
		in(ToolsetMonitor, ResetCircuitBreakers(d)),
		in(ToolsetRecords, DescribeModule(d)),
		in(ToolsetRecords, GetRecord(d)),
		in(ToolsetRecords, GetRecords(d)),
		in(ToolsetRecords, SearchRecords(d)),
		in(ToolsetRecords, GetRelatedRecords(d)),
		in(ToolsetRecords, CreateRecords(d)),
		in(ToolsetRecords, UpdateRecords(d)),
		in(ToolsetRecords, BulkReadRecords(d)),
		in(ToolsetRecords, BulkUpdateRecords(d)),
		also(in(ToolsetAccounts, ReadBulkResult(d)), ToolsetRecords),
		also(in(ToolsetAccounts, GetBulkJob(d)), ToolsetRecords),
	}
}

// in puts t in toolset, bound to modules.
func in(toolset string, t Tool, modules ...string) Tool {
	t.Toolset, t.Modules = toolset, modules
	return t
}

// also makes toolsets enable t too.
func also(t Tool, toolsets ...string) Tool {
	t.AlsoIn = toolsets
	return t
}

// Allowed reports whether profile p may see and call t: p has every scope t
// declares. A nil profile is allowed nothing.
func Allowed(t Tool, p *permissions.Profile) bool {
	return p.Allows(t.Scopes...)
}

// routing builds the agent-context RoutingContext of a call.
func routing(op tiers.OpKind, count int, p *permissions.Profile) router.RoutingContext {
	return router.RoutingContext{
		OperationType: op,
		RecordCount:   count,
		AgentContext:  true,
		Tools:         p.ScopeNames(),
	}
}

// guard refuses a call whose context carries no profile, or a profile
// without the tool's scopes. The server's tool filter already hides such
// tools; this is the second lock on the same door.
func guard(ctx context.Context, name string, scopes []permissions.Scope) (*permissions.Profile, *mcp.CallToolResult) {
	p := permissions.ProfileFrom(ctx)
	if p == nil {
		return nil, errorResult(tiers.Route{}, "%s refused: the call carries no permission profile", name)
	}
	if !p.Allows(scopes...) {
		return nil, errorResult(tiers.Route{}, "%s refused: profile %q lacks the scopes %v this tool needs", name, p.Name, scopes)
	}
	return p, nil
}
