package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// WriteMarkdown renders the report as markdown tables.
func (r *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "### Load: %d sessions, %.0fs, protocol %s, faults %v (%s proxy)\n\n", r.Sessions, r.DurationS, r.Era, onOff(r.Faults), r.Mode)
	fmt.Fprintf(w, "| figure | value |\n|---|---|\n")
	fmt.Fprintf(w, "| sessions connected | %d of %d (connect p50 %.1f ms, p99 %.1f ms) |\n", r.Connected, r.Sessions, r.Connect.P50, r.Connect.P99)
	if r.ConnectErrs > 0 {
		fmt.Fprintf(w, "| connect errors | %d (e.g. %s) |\n", r.ConnectErrs, cell(r.ConnectErr))
	}
	fmt.Fprintf(w, "| think time per session | %.0f ms ±50 %% (first calls staggered over it) |\n", r.ThinkMS)
	if r.Faults {
		fmt.Fprintf(w, "| fault window grace | %.1f s after each fault clears |\n", r.GraceS)
	}
	fmt.Fprintf(w, "| calls | %d |\n| calls/s | %.1f |\n", r.Calls, r.CallsPerSec)
	fmt.Fprintf(w, "| latency p50 / p90 / p99 / max | %.2f / %.2f / %.2f / %.1f ms |\n", r.Latency.P50, r.Latency.P90, r.Latency.P99, r.Latency.Max)
	fmt.Fprintf(w, "| errors not injected | %d |\n| errors in fault windows | %d |\n", r.Uninjected, r.Injected)
	fmt.Fprintf(w, "| served by tier | %s |\n", servedBy2(r.ServedBy))
	fmt.Fprintf(w, "| proxy goroutines: baseline / peak / sessions closed / upstream pool closed | %d / %d / %d / %d |\n",
		r.Baseline.Goroutines, r.Peak.Goroutines, r.AfterClose.Goroutines, r.AfterDrain.Goroutines)
	fmt.Fprintf(w, "| proxy RSS MiB: baseline / peak / sessions closed / upstream pool closed | %.1f / %.1f / %.1f / %.1f |\n",
		mib(r.Baseline.RSSBytes), mib(r.Peak.RSSBytes), mib(r.AfterClose.RSSBytes), mib(r.AfterDrain.RSSBytes))
	fmt.Fprintf(w, "| goroutines early → late (growth) | %.0f → %.0f (%+.1f %%) |\n", r.Goroutines.Early, r.Goroutines.Late, r.Goroutines.Percent)
	fmt.Fprintf(w, "| RSS MiB early → late (growth) | %.1f → %.1f (%+.1f %%) |\n", r.RSS.Early/(1<<20), r.RSS.Late/(1<<20), r.RSS.Percent)
	fmt.Fprintf(w, "| calls in flight early → late | %.0f → %.0f |\n", r.InFlight.Early, r.InFlight.Late)
	fmt.Fprintf(w, "| (early = median of samples in 10–25 %% of the run, late = last 15 %%) | |\n")
	if r.SampleErrs > 0 {
		fmt.Fprintf(w, "| failed samples | %d |\n", r.SampleErrs)
	}
	fmt.Fprintf(w, "\n| tool | calls | errors | p50 ms | p90 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, t := range r.Tools {
		fmt.Fprintf(w, "| %s | %d | %d | %.2f | %.2f | %.2f | %.1f |\n", t.Tool, t.Calls, t.Errors, t.P50, t.P90, t.P99, t.Max)
	}
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "\n| error class | injected | count | first–last (s) | example |\n|---|---|---:|---|---|\n")
		for _, e := range r.Errors {
			fmt.Fprintf(w, "| %s | %v | %d | %.1f–%.1f | %s |\n", e.Class, e.Injected, e.Count, float64(e.FirstMS)/1000, float64(e.LastMS)/1000, cell(e.Example))
		}
	}
	if len(r.FaultEvents) > 0 {
		var on []string
		for _, e := range r.FaultEvents {
			if e.On {
				on = append(on, fmt.Sprintf("%.1fs %s", float64(e.AtMS)/1000, e.Fault))
			}
		}
		fmt.Fprintf(w, "\nFaults switched on (each for the fault-on time, then cleared): %s\n", strings.Join(on, "; "))
	}
	fmt.Fprintf(w, "\n| t (s) | goroutines | RSS MiB | calls in flight |\n|---:|---:|---:|---:|\n")
	step := max(1, len(r.Samples)/20) // at most ~20 rows
	for i := 0; i < len(r.Samples); i += step {
		s := r.Samples[i]
		fmt.Fprintf(w, "| %.1f | %d | %.1f | %d |\n", s.At.Seconds(), s.Goroutines, mib(s.RSSBytes), s.InFlight)
	}
	if n := len(r.Samples); n > 0 && (n-1)%step != 0 {
		s := r.Samples[n-1]
		fmt.Fprintf(w, "| %.1f | %d | %.1f | %d |\n", s.At.Seconds(), s.Goroutines, mib(s.RSSBytes), s.InFlight)
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func servedBy2(m map[string]int) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var parts []string
	for _, k := range ks {
		name := k
		if name == "" {
			name = "(no route)"
		}
		parts = append(parts, fmt.Sprintf("%s %d", name, m[k]))
	}
	return strings.Join(parts, ", ")
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", "\\|")
}
