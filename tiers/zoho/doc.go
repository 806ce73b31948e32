// Package zoho is the Zoho CRM plumbing shared by the REST and BULK tiers:
// data centres, OAuth tokens, one HTTP client, error classification and the
// criteria/COQL compilers.
//
// # Exported API (stable; other tiers build on it)
//
// Data centres (reference §1):
//
//	func DC(name string) (DataCenter, error)        // "" = "us"; us eu in au jp ca sa cn
//	func (DataCenter) WithOverrides(accounts, api, content string) DataCenter
//
// Tokens (reference §2): one TokenSource per credential; single-flight
// refresh, expiry margin, expires_in_sec, HTTP-200 error bodies, local
// accounting of the 10-refreshes-per-10-minutes cap, disk cache (mode 0600,
// atomic) keyed by client id and a hash of the refresh token:
//
//	func NewTokenSource(cfg TokenSourceConfig) *TokenSource
//	func (*TokenSource) Token(ctx) (Token, error)
//	func (*TokenSource) Invalidate(staleAccessToken string)
//
// The client: New(Config) assembles one *http.Client (see NewHTTPClient for
// the RoundTripper order) and classifies every failure as a *tiers.Error:
//
//	func New(cfg Config) (*Client, error)
//	func (*Client) Do(ctx, Request) (*Response, error)      // whole body
//	func (*Client) Send(ctx, Request) (*http.Response, error) // streaming body
//	func (*Response) Decode(v any) error                     // json.Number
//	func (*Client) OrgID(ctx) (string, error)                // zgid for X-CRM-ORG
//
// Classification: Zoho 4xx codes are ClassVerdict (code, message, details
// kept); 429 ClassRateLimited; 401 after one refresh and OAUTH_SCOPE_MISMATCH
// ClassAuth; 5xx, connection refused, timeouts before sending and malformed
// bodies ClassUnavailable; a write sent without an answer (and a 500/504 or
// malformed 2xx answer to a write) ClassOutcomeUnknown; the caller's own
// context ClassCanceled. 204 is a success with an empty body. A 4xx whose
// body holds per-record results ({"data":[…]}) is a success for the caller
// to read per record. No error text contains a token or secret.
//
// Compilers (reference §5, §6), from structured tiers.Condition values only:
//
//	func Criteria(conds []tiers.Condition, any bool) (string, error)
//	func COQL(q COQLQuery) (string, error)
//
// Request checks shared by tiers 1 and 2 (their messages are the agent's), and
// the field list they read when a request asks for all fields:
//
//	func InvalidData(tier tiers.Name, format string, args ...any) *tiers.Error
//	func WithTier(tier tiers.Name, err error) error // label an untiered verdict
//	func CheckFields(tier tiers.Name, fs []string) error
//	func CheckLimit(tier tiers.Name, n int) (int, error)
//	func CheckListIDs(tier tiers.Name, ids []string) error
//	func CheckListFilters(tier tiers.Name, filters []tiers.Condition) error
//	func CheckSort(tier tiers.Name, by, order string) (field string, desc bool, err error)
//	func DefaultFields(module string) []string
//	func InIDOrder(recs []tiers.Record, ids []string) []tiers.Record
//	func Sleep(ctx context.Context, d time.Duration) error // default wait of tiers 1 and 2
package zoho
