package loadtest

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseStatm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in  string
		rss, anon int64
		err       bool
	}{
		{"pages", "1000 300 100 50 0 400 0\n", 300 * 4096, 200 * 4096, false},
		{"short", "1000 300", 0, 0, true},
		{"not a number", "1000 x 100", 0, 0, true},
		{"shared above resident", "1000 100 300", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rss, anon, err := parseStatm(tt.in, 4096)
			if (err != nil) != tt.err || rss != tt.rss || anon != tt.anon {
				t.Errorf("parseStatm = %d, %d, %v; want %d, %d, error %v", rss, anon, err, tt.rss, tt.anon, tt.err)
			}
		})
	}
}

// TestGCTrace: the proxy's stderr is read line by line, across writes, for
// the live heap after each GC and the sandbox's admin URL (JSON or text
// logs), and its tail is kept.
func TestGCTrace(t *testing.T) {
	t.Parallel()
	g := &gcTrace{tail: &tailBuffer{max: 1 << 10}, live: -1}
	if live, n := g.last(); live != -1 || n != 0 {
		t.Fatalf("before any GC: %d, %d", live, n)
	}
	for _, chunk := range []string{
		`{"time":"x","level":"INFO","msg":"sandbox emulator running","admin_url":"http://127.0.0.1:4`, "6139\",\"startup_ms\":5}\n",
		"gc 1 @0.019s 2%: 0.01+1.2+0.02 ms clock, 0.03+0.5/1.0/0+0.04 ms cpu, 4->4->2 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P\n",
		"gc 2 @1.5s 1%: 0.01+1.2+0.02 ms clock, 0.03+0.5/1.0/0+0.04 ms cpu, 9->10->7 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)\n",
		"time=x level=INFO msg=\"sandbox emulator running\" admin_url=http://127.0.0.1:9\n", // the first admin URL wins
	} {
		if _, err := g.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if live, n := g.last(); live != 7 || n != 2 {
		t.Errorf("last() = %d MB after %d GCs, want 7 after 2", live, n)
	}
	if got := g.adminURL(); got != "http://127.0.0.1:46139" {
		t.Errorf("adminURL() = %q", got)
	}
	if !strings.Contains(g.tail.String(), "gc 2 @1.5s") {
		t.Errorf("tail lacks the trace: %q", g.tail.String())
	}
	text := &gcTrace{tail: &tailBuffer{max: 1 << 10}, live: -1}
	_, _ = text.Write([]byte("time=x level=INFO msg=\"sandbox emulator running\" admin_url=http://127.0.0.1:9 startup_ms=4\n"))
	if got := text.adminURL(); got != "http://127.0.0.1:9" {
		t.Errorf("adminURL() from a text log = %q", got)
	}
}

// TestSoakEvaluate: the windows are taken from the right samples, growth
// beyond the limit fails, and state left after the idle period fails.
func TestSoakEvaluate(t *testing.T) {
	t.Parallel()
	o := SoakOptions{Duration: 100 * time.Second, Warmup: 20 * time.Second, Window: 10 * time.Second, Idle: 30 * time.Second,
		SessionTTL: 5 * time.Second}
	o.defaults()
	type fig struct {
		rss      int64
		g, fds   int
		sessions int
	}
	build := func(start, base, end, idle fig) []SoakSample {
		var ss []SoakSample
		add := func(phase string, at float64, f fig) {
			ss = append(ss, SoakSample{AtS: at, Phase: phase, RSSBytes: f.rss, Goroutines: f.g, FDs: f.fds, Sessions: f.sessions})
		}
		for i := range 3 {
			add("start", float64(i-3), start)
		}
		for at := 0.0; at < 100; at += 2 {
			switch {
			case at < 20:
				add("load", at, fig{rss: 999 << 20, g: 999, fds: 999}) // warm-up: ignored
			case at <= 30:
				add("load", at, base)
			case at >= 90:
				add("load", at, end)
			default:
				add("load", at, fig{rss: 999 << 20, g: 999, fds: 999}) // between the windows: peaks only
			}
		}
		for at := 100.0; at < 130; at += 2 {
			add("idle", at, idle)
		}
		return ss
	}
	steady := fig{rss: 100 << 20, g: 100, fds: 50, sessions: 40}
	tests := []struct {
		name       string
		samples    []SoakSample
		tempLeft   []string
		wantFailed []string
	}{
		{"flat", build(fig{rss: 50 << 20, g: 20, fds: 18}, steady, steady, fig{rss: 105 << 20, g: 20, fds: 18}), nil, nil},
		{"RSS grows", build(fig{rss: 50 << 20, g: 20, fds: 18}, steady, fig{rss: 111 << 20, g: 100, fds: 50, sessions: 40}, fig{rss: 105 << 20, g: 20, fds: 18}), nil,
			[]string{"RSS, baseline → end of load"}},
		{"goroutines and sessions stay", build(fig{rss: 50 << 20, g: 20, fds: 18}, steady, steady, fig{rss: 100 << 20, g: 40, fds: 18, sessions: 3}), nil,
			[]string{"goroutines, start → after idle", "sessions after idle"}},
		{"temp files left", build(fig{rss: 50 << 20, g: 20, fds: 18}, steady, steady, fig{rss: 100 << 20, g: 20, fds: 18}), []string{"zoho-mcp-proxy-bulk-x/r.jsonl"},
			[]string{"temp files left after the proxy exited"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &SoakReport{Samples: tt.samples, TempLeftAfterExit: tt.tempLeft}
			r.evaluate(o)
			var failed []string
			for _, c := range r.Checks {
				if !c.OK {
					failed = append(failed, c.Name)
				}
			}
			if !slices.Equal(failed, tt.wantFailed) || r.Pass != (len(tt.wantFailed) == 0) {
				t.Errorf("failed checks %q (pass %v), want %q", failed, r.Pass, tt.wantFailed)
			}
			if r.Baseline.Goroutines != 100 || r.Peak.Goroutines != 999 {
				t.Errorf("baseline %d goroutines, peak %d: the windows took the wrong samples", r.Baseline.Goroutines, r.Peak.Goroutines)
			}
			var md strings.Builder
			r.WriteMarkdown(&md)
			if !strings.Contains(md.String(), "| goroutines, baseline → end of load |") {
				t.Errorf("markdown lacks the checks:\n%s", md.String())
			}
		})
	}
}

func TestOverlapsQuietWindows(t *testing.T) {
	t.Parallel()
	quiet := []Window{{From: 60 * time.Second, To: 180 * time.Second}, {From: 480 * time.Second, To: 600 * time.Second}}
	tests := []struct {
		name     string
		from, to time.Duration
		want     bool
		wantTo   time.Duration
	}{
		{"before", 0, 30 * time.Second, false, 0},
		{"runs into the first", 40 * time.Second, 70 * time.Second, true, 180 * time.Second},
		{"between", 200 * time.Second, 230 * time.Second, false, 0},
		{"runs into the last", 460 * time.Second, 490 * time.Second, true, 600 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, ok := overlaps(quiet, tt.from, tt.to)
			if ok != tt.want || w.To != tt.wantTo {
				t.Errorf("overlaps = %+v, %v; want until %v, %v", w, ok, tt.wantTo, tt.want)
			}
		})
	}
}
