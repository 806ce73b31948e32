// Package cluster holds the state that proxy replicas share through Redis:
// access tokens, circuit breakers, the org-wide concurrency governor with its
// credit accounting, and bulk results with their job handles.
//
// Nothing here is used unless Redis is configured; one replica without Redis
// behaves exactly as before. Each primitive is small and has a local
// counterpart that the product already runs, and each degrades to that
// local behaviour when Redis cannot be used:
//
//	primitive        when Redis is down or slow
//	Tokens           ErrUnavailable: the caller refreshes locally with its own cap accounting
//	SharedBreaker    a local gobreaker breaker with the same settings decides
//	SharedGovernor   its Fallback (a LocalGovernor with the same limit) admits calls
//	Credits          ErrUnavailable: the caller keeps its local figure
//	Results          ErrUnavailable: the caller keeps results locally (or refuses)
//
// Every Redis call is bounded by Config.Timeout. The first failure is logged
// once (Warn), after which the primitives use their fallbacks at once,
// without touching Redis, until Config.RetryAfter has passed; the next call
// then probes Redis again, and the recovery is logged once (Info). So a dead
// Redis costs one timeout per RetryAfter, not one per call, and one log line.
//
// Keys all start with Config.Prefix. A credential appears in keys only as a
// CredentialID (a SHA-256 of its accounts server, client id and refresh
// token), a caller only as an OwnerID; access tokens are stored encrypted
// with AES-256-GCM under a key every replica shares (ParseKey). Time comes
// from the caller's clock (Config.Now), so replicas' clocks must agree to
// well within the shortest lease or window (NTP does).
package cluster
