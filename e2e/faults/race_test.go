//go:build race

package faults

// raceEnabled is true when the race detector slows everything down.
const raceEnabled = true
