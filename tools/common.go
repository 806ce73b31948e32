package tools

import (
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// hints is how a tool's annotations are declared: every hint explicitly,
// because mcp-go's defaults (destructive, open world) are wrong for a CRM.
type hints struct {
	title                             string
	readOnly, destructive, idempotent bool
}

// annotate sets the tool's title (both the tool's own and the annotation's)
// and every annotation explicitly. openWorldHint is false for all
// our tools: they act on one known CRM org, a closed domain, not on an open
// world of external entities like a web search.
func annotate(h hints) mcp.ToolOption {
	ro, de, id, ow := h.readOnly, h.destructive, h.idempotent, false
	title := mcp.WithToolTitle(h.title)
	annotation := mcp.WithToolAnnotation(mcp.ToolAnnotation{
		Title:           h.title,
		ReadOnlyHint:    &ro,
		DestructiveHint: &de,
		IdempotentHint:  &id,
		OpenWorldHint:   &ow,
	})
	return func(t *mcp.Tool) {
		title(t)
		annotation(t)
	}
}

// redact returns an account without the fields p may not see (see
// redactIn).
func redact(rec tiers.Record, p *permissions.Profile) tiers.Record { return redactIn(Module, rec, p) }

// redactIn returns rec, a record of module, without the fields p may not
// see there. It copies rec so a tier's map is never changed.
func redactIn(module string, rec tiers.Record, p *permissions.Profile) tiers.Record {
	if rec == nil {
		return tiers.Record{}
	}
	if p.DeniedFields(module) == nil {
		return rec
	}
	out := make(tiers.Record, len(rec))
	for k, v := range rec {
		if !p.DeniedIn(module, k) {
			out[k] = v
		}
	}
	return out
}

func redactAll(recs []tiers.Record, p *permissions.Profile) []tiers.Record {
	out := make([]tiers.Record, len(recs))
	for i, r := range recs {
		out[i] = redact(r, p)
	}
	return out
}

// listOutput is the structured content of get_accounts and search_accounts.
type listOutput struct {
	Accounts      []tiers.Record `json:"accounts"`
	Count         int            `json:"count"`
	MoreRecords   bool           `json:"more_records"`
	NextPageToken string         `json:"next_page_token,omitempty"`
}

func pageOutput(pg tiers.Page, p *permissions.Profile) listOutput {
	out := listOutput{Accounts: redactAll(pg.Records, p), Count: len(pg.Records), MoreRecords: pg.MoreRecords}
	if pg.MoreRecords {
		out.NextPageToken = pg.NextPageToken
	}
	return out
}

func pageSummary(out listOutput, tier tiers.Name) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d account%s", out.Count, plural(out.Count))
	if n := names(out.Accounts, 5); n != "" {
		sb.WriteString(": ")
		sb.WriteString(n)
	}
	if tier != "" {
		fmt.Fprintf(&sb, " (served by %s)", tier)
	}
	sb.WriteString(".")
	if out.MoreRecords {
		sb.WriteString(" More records exist: call again with page_token set to next_page_token.")
	}
	return sb.String()
}

// names lists up to n "Name (id)" labels.
func names(recs []tiers.Record, n int) string {
	var parts []string
	for i, r := range recs {
		if i == n {
			parts = append(parts, fmt.Sprintf("and %d more", len(recs)-n))
			break
		}
		parts = append(parts, label(r))
	}
	return strings.Join(parts, ", ")
}

func label(r tiers.Record) string {
	id, _ := r["id"].(string)
	if name, ok := r["Account_Name"].(string); ok && name != "" {
		return fmt.Sprintf("%s (%s)", name, id)
	}
	return id
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// writeResult is one record's outcome in a write tool's output.
type writeResult struct {
	ID      string `json:"id"`
	Status  string `json:"status"` // success or error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// writeOutput is the structured content of update_account and
// bulk_update_accounts (the latter with strategy, calls and credits).
type writeOutput struct {
	Results   []writeResult `json:"results"`
	Total     int           `json:"total"`
	Succeeded int           `json:"succeeded"`
	Failed    int           `json:"failed"`
}

// Codes the proxy gives records whose fate is not a Zoho verdict.
const (
	CodeOutcomeUnknown = "OUTCOME_UNKNOWN"
	CodeNotSent        = "NOT_SENT"
)

// fromOutcome maps a tier outcome onto the two statuses an agent sees: a
// record whose write is unknown or was never sent is an error, with a code
// and advice, never a success.
func fromOutcome(o tiers.Outcome) writeResult { return fromOutcomeFor(o, "get_account") }

// fromOutcomeFor is fromOutcome whose advice names reader, the tool that
// reads the record back.
func fromOutcomeFor(o tiers.Outcome, reader string) writeResult {
	r := writeResult{ID: o.ID, Code: o.Code, Message: o.Message}
	switch o.Status {
	case tiers.StatusSuccess:
		r.Status = "success"
	case tiers.StatusUnknown:
		r.Status = "error"
		if r.Code == "" {
			r.Code = CodeOutcomeUnknown
		}
		r.Message = joinMsg(r.Message, "sent but no answer came: it may or may not be written; read it back with "+reader+" before sending it again")
	case tiers.StatusNotSent:
		r.Status = "error"
		if r.Code == "" {
			r.Code = CodeNotSent
		}
		r.Message = joinMsg(r.Message, "not sent; safe to send again")
	default:
		r.Status = "error"
		if r.Code == "" {
			r.Code = "ERROR"
		}
	}
	return r
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func tally(rs []writeResult) writeOutput {
	out := writeOutput{Results: rs, Total: len(rs)}
	for _, r := range rs {
		if r.Status == "success" {
			out.Succeeded++
		} else {
			out.Failed++
		}
	}
	return out
}

// failedSummary describes up to n failed results.
func failedSummary(rs []writeResult, n int) string {
	var parts []string
	shown := 0
	for _, r := range rs {
		if r.Status == "success" {
			continue
		}
		if shown == n {
			parts = append(parts, "…")
			break
		}
		s := r.ID + ": " + r.Code
		if r.Message != "" {
			s += " (" + tiers.Clip(r.Message, 60) + ")"
		}
		parts = append(parts, s)
		shown++
	}
	return strings.Join(parts, "; ")
}
