package tiers

import "context"

// Governor bounds how many calls are in flight at Zoho at once: Acquire
// blocks until a slot is free or ctx ends (then it returns ctx's error, and
// nothing was sent); release frees the slot and may be called more than
// once. One governor per org is shared by every tool call and every tier,
// so the proxy queues what Zoho would answer 429 TOO_MANY_REQUESTS
// (reference §9.3) instead of sending it.
//
// cluster.Governor has the same method: cluster.LocalGovernor (in-process)
// and cluster.SharedGovernor (Redis, shared by replicas) are Governors, and
// app picks one. nil means no bound.
type Governor interface {
	Acquire(ctx context.Context) (release func(), err error)
}

// Zoho's concurrency limits (reference §9.3): the API calls one org may have
// in flight at once per connected app are Free 5, Standard/Starter 10,
// Professional 15, Enterprise/Zoho One 20 and Ultimate/CRM Plus 25, and
// within them at most 10 heavy calls (COQL, writes of more than 10 records,
// bulk job creation).
const (
	// DefaultConcurrencyLimit is the proxy's default bound on calls in
	// flight at Zoho (ZOHO_CONCURRENCY_LIMIT): Standard's limit, which every
	// paid edition allows.
	DefaultConcurrencyLimit = 10
	// SubConcurrencyLimit bounds the heavy calls within it, in every
	// edition.
	SubConcurrencyLimit = 10
)
