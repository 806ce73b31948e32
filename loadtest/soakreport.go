package loadtest

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WriteMarkdown renders the soak report: the command, the checks, what the
// hostile callers did, and the profile of the figures over time.
func (r *SoakReport) WriteMarkdown(w io.Writer) {
	verdict := "PASS"
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "### Soak: %.0f s of load (warm-up %.0f s, windows of %.0f s), then %.0f s idle — %s\n\n", r.DurationS, r.WarmupS, r.WindowS, r.IdleS, verdict)
	fmt.Fprintf(w, "Proxy: `%s` (session idle TTL %s; every other setting the shipped default)\n\n", r.Command, r.SessionTTL)
	fmt.Fprintf(w, "| figure | start | baseline | end of load | after idle | peak |\n|---|---:|---:|---:|---:|---:|\n")
	row := func(name string, f func(SoakSample) string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", name, f(r.Start), f(r.Baseline), f(r.End), f(r.AfterIdle), f(r.Peak))
	}
	row("RSS MiB", func(s SoakSample) string { return fmt.Sprintf("%.1f", mib(s.RSSBytes)) })
	row("of which anonymous (RSS − file-backed) MiB", func(s SoakSample) string { return fmt.Sprintf("%.1f", mib(s.AnonBytes)) })
	row("goroutines", func(s SoakSample) string { return fmt.Sprint(s.Goroutines) })
	row("open fds", func(s SoakSample) string { return fmt.Sprint(s.FDs) })
	row("heap in use MiB (at the sample)", func(s SoakSample) string { return fmt.Sprintf("%.1f", mib(s.HeapInuse)) })
	row("live heap after last GC MB (gctrace)", func(s SoakSample) string { return fmt.Sprint(s.HeapLiveMB) })
	row("temp dir KiB / files", func(s SoakSample) string { return fmt.Sprintf("%.0f / %d", float64(s.TempBytes)/1024, s.TempFiles) })
	row("sessions / streams kept", func(s SoakSample) string { return fmt.Sprintf("%d / %d", s.Sessions, s.Streams) })
	fmt.Fprintf(w, "\n(start: before any load; baseline: medians of the window after warm-up; end: the load's last window; after idle: the last three samples)\n\n")
	fmt.Fprintf(w, "| check | from | to | growth | limit | ok |\n|---|---:|---:|---:|---|---|\n")
	for _, c := range r.Checks {
		fmt.Fprintf(w, "| %s | %s | %s | %+.1f %% | %s | %s |\n", c.Name, num(c.From), num(c.To), c.Percent, c.Limit, yesNo(c.OK))
	}
	if len(r.TempLeftAfterExit) > 0 {
		fmt.Fprintf(w, "\nLeft in the proxy's TMPDIR after it exited: %s\n", strings.Join(r.TempLeftAfterExit, ", "))
	}
	if r.ExitError != "" {
		fmt.Fprintf(w, "\nProxy exit: %s\n", r.ExitError)
	}
	fmt.Fprintf(w, "\n| action | count |\n|---|---:|\n")
	for _, k := range sortedKeys(r.Actions) {
		fmt.Fprintf(w, "| %s | %d |\n", k, r.Actions[k])
	}
	fmt.Fprintf(w, "\n| outcome of the workers' calls | count |\n|---|---:|\n")
	for _, k := range sortedKeys(r.CallClasses) {
		fmt.Fprintf(w, "| %s | %d |\n", k, r.CallClasses[k])
	}
	var on []string
	for _, e := range r.FaultEvents {
		if e.On {
			on = append(on, fmt.Sprintf("%.0fs %s", float64(e.AtMS)/1000, e.Fault))
		}
	}
	fmt.Fprintf(w, "\nFaults switched on: %s\n", strings.Join(on, "; "))
	fmt.Fprintf(w, "\n| t (s) | phase | fault | RSS MiB | anon MiB | goroutines | fds | heap in use MiB | live heap MB | temp KiB | sessions | streams |\n|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	step := max(1, len(r.Samples)/30)
	for i, s := range r.Samples {
		if i%step != 0 && i != len(r.Samples)-1 {
			continue
		}
		fmt.Fprintf(w, "| %.0f | %s | %s | %.1f | %.1f | %d | %d | %.1f | %d | %.0f | %d | %d |\n", s.AtS, s.Phase, s.Fault, mib(s.RSSBytes),
			mib(s.AnonBytes), s.Goroutines, s.FDs, mib(s.HeapInuse), s.HeapLiveMB, float64(s.TempBytes)/1024, s.Sessions, s.Streams)
	}
}

func num(f float64) string {
	if f >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", f/(1<<20))
	}
	return fmt.Sprintf("%.0f", f)
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func sortedKeys(m map[string]int) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
