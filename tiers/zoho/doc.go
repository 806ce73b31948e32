// Package zoho is the Zoho CRM plumbing the tiers share: tiers 2 (BULK) and
// 3 (REST) talk to Zoho's REST API through its Client, and all three tiers
// (tier 1, MCP, included) compile their queries and check their requests
// with it. It holds:
//
//   - Data centres (reference §1): DC, DCNames and DataCenter's hosts.
//   - OAuth tokens (reference §2): one TokenSource per credential, with
//     single-flight refresh, an expiry margin, local accounting of the
//     10-refreshes-per-10-minutes cap and a disk cache (mode 0600).
//   - The client (Client, made by New from a Config): one *http.Client of
//     small RoundTrippers (see NewHTTPClient for their order) that builds
//     URLs on the right API domain, authenticates, retries within the
//     context's tiers.RetryBudget and classifies every failure as a
//     *tiers.Error: Zoho's 4xx codes are verdicts, 429 is rate limited, a
//     401 after one refresh is an auth failure, 5xx, refused connections and
//     malformed bodies are unavailable, a write sent without an answer has an
//     unknown outcome, the caller's own context is canceled. No error text
//     holds a token or a secret. DefaultTransport is the pooled transport
//     every tier uses.
//   - The query compilers (reference §5, §6): Criteria and COQL, from
//     structured tiers.Condition values only, every value escaped.
//   - The request checks every tier makes before it sends anything, whose
//     messages the agent reads: CheckModule, CheckID, CheckFields,
//     CheckLimit, CheckListIDs, CheckListFilters, CheckSort (the shapes and
//     limits they check are tiers', see tiers.IsAPIName and tiers.MaxFields),
//     the field list a read of "all fields" asks for (DefaultFields), and
//     what tiers 1 and 2 wait with between polls and retries (Sleep).
package zoho
