package main

import "runtime/debug"

// defaultGCPercent is the collector's target when GOGC is not set.
//
// The proxy's live heap is small (a few MB: sessions, metrics, the
// permissions) and nearly all it allocates is garbage of one call: the
// request, the upstream answer, the record's bytes. At Go's default of 100
// the heap target is twice that small live heap, so the collector runs every
// few hundred calls and takes a measurable part of the CPU of each one
// (docs/BENCHMARKS.md, issue 14, "garbage collection"). 200 lets the heap
// grow to three times the live heap, which costs a few MB of resident
// memory and saves that CPU. GOGC, and GOMEMLIMIT, set in the environment
// take precedence as in any Go program.
const defaultGCPercent = 200

// tuneGC sets defaultGCPercent unless GOGC is set, and reports whether it
// did. An empty GOGC counts as unset, as it does for the runtime.
func tuneGC(getenv func(string) string) bool {
	if getenv("GOGC") != "" {
		return false
	}
	debug.SetGCPercent(defaultGCPercent)
	return true
}
