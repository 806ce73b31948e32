package tiers

import "time"

// Defaults are a tier's default routing settings (SPEC §3). They have one
// home, here: the configuration's defaults, the router's and each tier's
// own all come from DefaultsOf.
type Defaults struct {
	// Priority is the tier's place in the failover chain, 1 first.
	Priority int
	// Timeout bounds one attempt on the tier.
	Timeout time.Duration
	// MaxRetries is how many times the tier retries after the first
	// attempt when it is the last tier that could serve a call.
	MaxRetries int
}

// defaults are the SPEC §3 values of the three tiers.
var defaults = map[Name]Defaults{
	MCP:  {Priority: 1, Timeout: 30 * time.Second, MaxRetries: 3},
	Bulk: {Priority: 2, Timeout: 60 * time.Second, MaxRetries: 3},
	REST: {Priority: 3, Timeout: 45 * time.Second, MaxRetries: 2},
}

// DefaultsOf returns tier n's defaults: MCP priority 1, 30 s, 3 retries;
// BULK 2, 60 s, 3; REST 3, 45 s, 2. Another name gets no priority, 30 s
// and no retries.
func DefaultsOf(n Name) Defaults {
	if d, ok := defaults[n]; ok {
		return d
	}
	return Defaults{Timeout: 30 * time.Second}
}
