package main

import (
	"runtime/debug"
	"testing"
)

func TestTuneGC(t *testing.T) {
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	// Unset and empty are the same to the runtime: its default applies.
	if !tuneGC(func(string) string { return "" }) {
		t.Fatal("tuneGC without GOGC reported no change")
	}
	if got := debug.SetGCPercent(100); got != defaultGCPercent {
		t.Fatalf("GC percent after tuneGC without GOGC = %d, want %d", got, defaultGCPercent)
	}

	// GOGC set (a number or "off") is the operator's choice.
	for _, v := range []string{"50", "100", "off"} {
		set := func(k string) string {
			if k == "GOGC" {
				return v
			}
			return ""
		}
		if tuneGC(set) {
			t.Errorf("tuneGC with GOGC=%q changed the GC percent", v)
		}
		if got := debug.SetGCPercent(100); got != 100 {
			t.Errorf("GC percent after tuneGC with GOGC=%q = %d, want 100 (untouched)", v, got)
		}
	}
}
