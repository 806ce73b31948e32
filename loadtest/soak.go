package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// SoakOptions configure Soak. Zero values pick the defaults named.
type SoakOptions struct {
	// Binary is the zoho-mcp-proxy executable. Soak runs it as
	// `serve --transport http --sandbox`: the shipped defaults, with the
	// built-in emulator, whose admin API the soak switches faults with.
	Binary string
	// Duration is the load phase, warm-up included; 0 means 10m.
	Duration time.Duration
	// Warmup is the load before the baseline window; 0 means 2m. It must
	// be longer than SessionTTL, so that the sessions the hostile callers
	// abandon have started to expire before the baseline is taken.
	Warmup time.Duration
	// Window is the length of the baseline window (right after Warmup) and
	// of the end window (the last Window of the load); 0 means 60s. Each
	// figure of a window is the median of its samples.
	Window time.Duration
	// Settle is how long faults stay off before and during each window, so
	// that both windows see the same load and a breaker a fault opened has
	// closed again; 0 means 60s (the default circuit_breaker_timeout).
	Settle time.Duration
	// Idle is the quiet time after the load, before the last figures; 0
	// means 3m (past the session TTL, its sweep, and the 90 s idle timeout
	// of the upstream connections).
	Idle time.Duration
	// SampleEvery is the sampling interval; 0 means 5s.
	SampleEvery time.Duration
	// SessionTTL is the proxy's --session-idle-ttl, the one setting the soak
	// changes from the shipped defaults (30m, longer than the run): with
	// it, abandoned sessions reach a steady number during the load and are
	// all gone after Idle. 0 means 60s; negative keeps the proxy's default.
	SessionTTL time.Duration
	// Workers are the well-behaved sessions calling the tool mix; 0 means 6.
	Workers int
	// Streams are the GET streams held open at once, Streamable HTTP and
	// legacy SSE each; 0 means 4.
	Streams int
	// LimitPercent is the allowed growth of RSS, goroutines and open fds;
	// 0 means 10.
	LimitPercent float64
	// Seed seeds the callers' random choices; 0 means 1.
	Seed uint64
	// GoroutineDump, when set, ends the proxy with SIGQUIT instead of
	// SIGTERM after the idle period and writes the goroutine dump Go prints
	// to this file: what is left, for a failed goroutine check. The temp
	// files check is then skipped (a killed proxy leaves its results to the
	// next start by design).
	GoroutineDump string
	// Logf receives progress lines; nil discards them.
	Logf func(format string, args ...any)
}

func (o *SoakOptions) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Duration, 10*time.Minute)
	def(&o.Warmup, 2*time.Minute)
	def(&o.Window, time.Minute)
	def(&o.Settle, time.Minute)
	def(&o.Idle, 3*time.Minute)
	def(&o.SampleEvery, 5*time.Second)
	def(&o.SessionTTL, time.Minute)
	if o.Workers <= 0 {
		o.Workers = 6
	}
	if o.Streams <= 0 {
		o.Streams = 4
	}
	if o.LimitPercent <= 0 {
		o.LimitPercent = 10
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// SoakFaults is the soak's fault cycle on the sandbox emulator: tier 1
// hanging (with the shipped timeouts), failing, throttled and flapping,
// tier 2 failing and tier 3 throttled.
func SoakFaults() []SoakFault {
	return []SoakFault{
		{Name: "tier 1 hangs", Surface: zohosim.SurfaceMCP, Mode: zohosim.FaultHang, For: 30 * time.Second},
		{Name: "tier 1 5xx", Surface: zohosim.SurfaceMCP, Mode: zohosim.Fault5xx, For: 20 * time.Second},
		{Name: "tier 3 429", Surface: zohosim.SurfaceREST, Mode: zohosim.Fault429, For: 20 * time.Second},
		{Name: "tier 1 flapping (down/up every second)", Surface: zohosim.SurfaceMCP, Mode: zohosim.FaultDown, For: 30 * time.Second, Flap: time.Second},
		{Name: "tier 2 5xx", Surface: zohosim.SurfaceBulk, Mode: zohosim.Fault5xx, For: 20 * time.Second},
		{Name: "tier 1 429", Surface: zohosim.SurfaceMCP, Mode: zohosim.Fault429, For: 20 * time.Second},
	}
}

// SoakFault is one step of the fault cycle: Mode on Surface for For, or,
// with Flap, Mode switched on and off every Flap for For.
type SoakFault struct {
	Name    string
	Surface zohosim.Surface
	Mode    zohosim.FaultMode
	For     time.Duration
	Flap    time.Duration
}

// soakFaultGap is the pause between two faults.
const soakFaultGap = 15 * time.Second

// SoakSample is the proxy's resource use at one moment of a soak.
type SoakSample struct {
	AtS        float64 `json:"at_s"`  // since the load started (phase start: since the proxy was healthy)
	Phase      string  `json:"phase"` // start, load, idle
	Fault      string  `json:"fault,omitempty"`
	RSSBytes   int64   `json:"rss_bytes"`  // /proc/PID/statm resident pages
	AnonBytes  int64   `json:"anon_bytes"` // resident minus file-backed (statm resident − shared): heap, stacks
	Goroutines int     `json:"goroutines"` // go_goroutines
	FDs        int     `json:"open_fds"`   // entries of /proc/PID/fd
	HeapInuse  int64   `json:"heap_inuse_bytes"`
	// HeapLiveMB is the live heap after the proxy's last GC (GODEBUG
	// gctrace: the third figure of "A->B->C MB"), -1 before the first.
	HeapLiveMB int   `json:"heap_live_after_gc_mb"`
	GCs        int   `json:"gcs"`
	TempBytes  int64 `json:"temp_bytes"` // bytes of files under the proxy's TMPDIR
	TempFiles  int   `json:"temp_files"`
	Sessions   int   `json:"sessions"` // zoho_mcp_proxy_http_sessions
	Streams    int   `json:"streams"`  // zoho_mcp_proxy_http_streams
}

// SoakCheck is one pass/fail figure of a soak.
type SoakCheck struct {
	Name    string  `json:"name"`
	From    float64 `json:"from"`
	To      float64 `json:"to"`
	Percent float64 `json:"percent"` // growth from From to To
	Limit   string  `json:"limit"`
	OK      bool    `json:"ok"`
}

// SoakReport is the outcome of Soak.
type SoakReport struct {
	Command    string  `json:"command"`
	DurationS  float64 `json:"duration_s"`
	WarmupS    float64 `json:"warmup_s"`
	WindowS    float64 `json:"window_s"`
	IdleS      float64 `json:"idle_s"`
	SessionTTL string  `json:"session_idle_ttl"`

	Actions     map[string]int `json:"actions"`      // hostile and regular actions done
	CallClasses map[string]int `json:"call_classes"` // outcomes of the workers' calls
	FaultEvents []FaultEvent   `json:"fault_events"`

	Samples   []SoakSample `json:"samples"`
	Start     SoakSample   `json:"start"`      // before any load
	Baseline  SoakSample   `json:"baseline"`   // medians of the window after warm-up
	End       SoakSample   `json:"end"`        // medians of the load's last window
	AfterIdle SoakSample   `json:"after_idle"` // medians of the last samples of the idle period
	Peak      SoakSample   `json:"peak"`       // highest of each figure

	TempLeftAfterExit []string    `json:"temp_left_after_exit"`
	ExitError         string      `json:"exit_error,omitempty"`
	Checks            []SoakCheck `json:"checks"`
	Pass              bool        `json:"pass"`
}

// ErrSoakFailed is returned (wrapped) by Soak when a check fails; the
// report is returned with it.
var ErrSoakFailed = errors.New("soak failed")

// soakEra is the protocol version of the hostile callers: the one with
// sessions (initialize, Mcp-Session-Id, GET streams).
const soakEra = EraLegacy

// Soak runs the proxy for o.Duration under a hostile mix while faults come
// and go on its sandbox emulator, then leaves it idle for o.Idle, sampling
// its RSS, goroutines, open fds, heap, temp files, sessions and streams all
// along. It returns the report, and an error wrapping ErrSoakFailed when a
// check failed (RSS or goroutines grew by more than o.LimitPercent, state
// was left after the idle period, or temp files survived the proxy).
func Soak(ctx context.Context, o SoakOptions) (*SoakReport, error) {
	o.defaults()
	if o.Binary == "" {
		return nil, errors.New("soak: the proxy binary is required")
	}
	if o.Warmup+2*o.Window > o.Duration {
		return nil, fmt.Errorf("soak: duration %s is shorter than warm-up %s plus two windows of %s", o.Duration, o.Warmup, o.Window)
	}
	ids, err := sandboxIDs()
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "zmp-soak-tmp-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	p, err := startSandboxProxy(ctx, o.Binary, tmp, o.SessionTTL)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	rep := &SoakReport{DurationS: o.Duration.Seconds(), WarmupS: o.Warmup.Seconds(), WindowS: o.Window.Seconds(),
		IdleS: o.Idle.Seconds(), SessionTTL: "proxy default (30m)", Actions: map[string]int{}, CallClasses: map[string]int{}}
	if o.SessionTTL > 0 {
		rep.SessionTTL = o.SessionTTL.String()
	}
	rep.Command = strings.Join(p.cmd.Args, " ")
	o.Logf("proxy pid %d at %s, sandbox admin %s, TMPDIR %s", p.PID, p.URL, p.admin, tmp)

	var (
		mu    sync.Mutex
		fault atomic.Pointer[string]
	)
	count := func(m map[string]int, k string) { mu.Lock(); m[k]++; mu.Unlock() }
	start := time.Now()
	sample := func(phase string) {
		s, err := p.sample(ctx, tmp)
		if err != nil {
			count(rep.Actions, "sample errors")
			return
		}
		s.AtS = time.Since(start).Seconds()
		s.Phase = phase
		if f := fault.Load(); f != nil {
			s.Fault = *f
		}
		mu.Lock()
		rep.Samples = append(rep.Samples, s)
		mu.Unlock()
	}
	for range 3 {
		sample("start")
		sleepCtx(ctx, time.Second)
	}
	start = time.Now()
	loadCtx, stopLoad := context.WithTimeout(ctx, o.Duration)
	defer stopLoad()
	var wg sync.WaitGroup
	goLoop := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }

	// The sampler runs through the load and the idle period.
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		t := time.NewTicker(o.SampleEvery)
		defer t.Stop()
		for {
			select {
			case <-sampleCtx.Done():
				return
			case <-t.C:
				phase := "load"
				if loadCtx.Err() != nil {
					phase = "idle"
				}
				sample(phase)
			}
		}
	}()

	// Faults, kept off in the quiet spans before and during both windows.
	quiet := []Window{{From: o.Warmup - o.Settle, To: o.Warmup + o.Window}, {From: o.Duration - o.Window - o.Settle, To: o.Duration}}
	admin := &http.Client{Timeout: 5 * time.Second}
	goLoop(func() {
		defer func() { _ = p.clearFaults(admin) }()
		steps := SoakFaults()
		for i := 0; loadCtx.Err() == nil; {
			step := steps[i%len(steps)]
			at := time.Since(start)
			if q, ok := overlaps(quiet, at, at+step.For); ok {
				if q.To >= o.Duration {
					return // the last window runs to the end of the load
				}
				sleepCtx(loadCtx, q.To-at)
				continue
			}
			i++
			name := step.Name
			fault.Store(&name)
			mu.Lock()
			rep.FaultEvents = append(rep.FaultEvents, FaultEvent{AtMS: at.Milliseconds(), Fault: step.Name, On: true})
			mu.Unlock()
			o.Logf("%6.0fs fault on: %s", at.Seconds(), step.Name)
			stepCtx, cancel := context.WithTimeout(loadCtx, step.For)
			if err := p.runFault(stepCtx, admin, step); err != nil {
				count(rep.Actions, "fault switch errors")
			}
			cancel()
			_ = p.clearFaults(admin)
			fault.Store(nil)
			off := time.Since(start)
			mu.Lock()
			rep.FaultEvents = append(rep.FaultEvents, FaultEvent{AtMS: off.Milliseconds(), Fault: step.Name, On: false})
			mu.Unlock()
			sleepCtx(loadCtx, soakFaultGap)
		}
	})

	hc := NewHTTPClient(64)
	defer hc.CloseIdleConnections()
	rng := func(i uint64) *rand.Rand { return rand.New(rand.NewPCG(o.Seed, i)) }

	// Well-behaved workers: long sessions calling the tool mix; one call in
	// twenty gives up after 50–500 ms, as an impatient client does.
	var clients []*mcpclient.Client
	for i := range o.Workers {
		era := EraLegacy
		if i%2 == 1 {
			era = EraModern
		}
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := Connect(cctx, p.Endpoint(), era, hc)
		cancel()
		if err != nil {
			stopLoad()
			wg.Wait()
			stopSampling()
			sampler.Wait()
			return nil, fmt.Errorf("soak: connect worker %d: %w", i, err)
		}
		clients = append(clients, c)
		r := rng(uint64(i))
		goLoop(func() {
			for loadCtx.Err() == nil {
				tool := pickTool(r)
				timeout := 40 * time.Second
				if r.IntN(20) == 0 {
					timeout = time.Duration(50+r.IntN(450)) * time.Millisecond
					count(rep.Actions, "calls abandoned by the client")
				}
				req := mcp.CallToolRequest{}
				req.Params.Name, req.Params.Arguments = tool, Args(tool, r, ids)
				callCtx, cancel := context.WithTimeout(ctx, timeout)
				res, err := c.CallTool(callCtx, req)
				count(rep.CallClasses, Classify(callCtx, res, err))
				cancel()
				count(rep.Actions, "tool calls")
				sleepCtx(loadCtx, time.Duration(150+r.IntN(300))*time.Millisecond)
			}
		})
	}

	// Bulk reads whose results are never fetched: 250 records each, more
	// than bulk_inline_limit, so each becomes a result on disk.
	goLoop(func() {
		r := rng(1000)
		for loadCtx.Err() == nil {
			req := mcp.CallToolRequest{}
			req.Params.Name = "bulk_read_accounts"
			req.Params.Arguments = map[string]any{"account_ids": pickIDs(r, ids, 250), "fields": []any{"Account_Name", "Phone", "Website"}}
			callCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
			res, err := clients[0].CallTool(callCtx, req)
			cancel()
			if c := Classify(callCtx, res, err); c == ClassOK {
				count(rep.Actions, "bulk results never fetched")
			} else {
				count(rep.Actions, "bulk reads failed ("+c+")")
			}
			sleepCtx(loadCtx, 5*time.Second)
		}
	})

	// Sessions opened and never ended (one call each, no DELETE), and
	// logging/setLevel naming session ids that never existed.
	raw := &rawMCP{url: p.Endpoint(), hc: hc}
	goLoop(func() {
		r := rng(2000)
		for i := 0; loadCtx.Err() == nil; i++ {
			if sid, err := raw.initialize(loadCtx); err == nil {
				_ = raw.call(loadCtx, sid, 3, "get_account", map[string]any{"account_id": ids[r.IntN(len(ids))]})
				count(rep.Actions, "sessions abandoned")
			} else if loadCtx.Err() == nil {
				count(rep.Actions, "initialize refused")
			}
			if i%5 == 0 {
				if err := raw.post(loadCtx, fmt.Sprintf("%032x", r.Uint64()), `{"jsonrpc":"2.0","id":9,"method":"logging/setLevel","params":{"level":"debug"}}`); err == nil {
					count(rep.Actions, "setLevel with made-up session ids")
				}
			}
			sleepCtx(loadCtx, time.Duration(300+r.IntN(400))*time.Millisecond)
		}
	})

	// GET streams held open without reading, then dropped (no DELETE), and
	// legacy SSE streams dropped before or after their call's answer.
	for i := range o.Streams {
		goLoop(func() {
			r := rng(3000 + uint64(i))
			for loadCtx.Err() == nil {
				hold := time.Duration(5+r.IntN(25)) * time.Second
				if err := raw.holdStream(loadCtx, hold); err == nil {
					count(rep.Actions, "GET streams held and dropped")
				} else if loadCtx.Err() == nil {
					count(rep.Actions, "GET stream errors")
				}
				sleepCtx(loadCtx, time.Duration(r.IntN(1000))*time.Millisecond)
			}
		})
		goLoop(func() {
			r := rng(4000 + uint64(i))
			for loadCtx.Err() == nil {
				answer := r.IntN(2) == 0
				id := ids[r.IntN(len(ids))]
				if err := raw.dropSSE(loadCtx, p.URL, id, answer); err == nil {
					count(rep.Actions, "SSE streams dropped")
				} else if loadCtx.Err() == nil {
					count(rep.Actions, "SSE errors")
				}
				sleepCtx(loadCtx, time.Duration(500+r.IntN(2500))*time.Millisecond)
			}
		})
	}

	<-loadCtx.Done()
	wg.Wait()
	for _, c := range clients {
		_ = c.Close()
	}
	hc.CloseIdleConnections()
	o.Logf("load over; idle for %s", o.Idle)
	sleepCtx(ctx, o.Idle)
	stopSampling()
	sampler.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	// Stop the proxy as an operator would; its temp dir must then be empty.
	if o.GoroutineDump != "" {
		if err := p.quitDump(o.GoroutineDump); err != nil {
			return nil, err
		}
		o.Logf("goroutine dump of the proxy written to %s", o.GoroutineDump)
	} else {
		if err := p.Close(); err != nil {
			rep.ExitError = err.Error()
		}
		rep.TempLeftAfterExit = filesUnder(tmp)
	}
	rep.evaluate(o)
	if !rep.Pass {
		return rep, fmt.Errorf("%w: %s", ErrSoakFailed, strings.Join(rep.failed(), "; "))
	}
	return rep, nil
}

// evaluate fills the summary samples and the checks from the samples.
func (r *SoakReport) evaluate(o SoakOptions) {
	var start, base, end, idle []SoakSample
	w, d := o.Window.Seconds(), o.Duration.Seconds()
	for _, s := range r.Samples {
		switch {
		case s.Phase == "start":
			start = append(start, s)
		case s.Phase == "idle":
			idle = append(idle, s)
		case s.AtS >= o.Warmup.Seconds() && s.AtS <= o.Warmup.Seconds()+w:
			base = append(base, s)
		case s.AtS >= d-w:
			end = append(end, s)
		}
		r.Peak = peakOf(r.Peak, s)
	}
	if len(idle) > 3 {
		idle = idle[len(idle)-3:]
	}
	r.Start, r.Baseline, r.End, r.AfterIdle = medianSample(start), medianSample(base), medianSample(end), medianSample(idle)
	lim := o.LimitPercent
	limit := fmt.Sprintf("≤ +%.0f %%", lim)
	grow := func(name string, from, to float64) {
		c := SoakCheck{Name: name, From: from, To: to, Limit: limit}
		if from > 0 {
			c.Percent = roundTenth((to - from) / from * 100)
		}
		c.OK = from > 0 && c.Percent <= lim
		r.Checks = append(r.Checks, c)
	}
	zero := func(name string, v float64) {
		r.Checks = append(r.Checks, SoakCheck{Name: name, To: v, Limit: "0", OK: v == 0})
	}
	grow("RSS, baseline → end of load", float64(r.Baseline.RSSBytes), float64(r.End.RSSBytes))
	grow("goroutines, baseline → end of load", float64(r.Baseline.Goroutines), float64(r.End.Goroutines))
	grow("open fds, baseline → end of load", float64(r.Baseline.FDs), float64(r.End.FDs))
	grow("RSS, baseline → after idle", float64(r.Baseline.RSSBytes), float64(r.AfterIdle.RSSBytes))
	grow("goroutines, start → after idle", float64(r.Start.Goroutines), float64(r.AfterIdle.Goroutines))
	grow("open fds, start → after idle", float64(r.Start.FDs), float64(r.AfterIdle.FDs))
	if o.SessionTTL > 0 && o.Idle > o.SessionTTL {
		zero("sessions after idle", float64(r.AfterIdle.Sessions))
	}
	zero("streams after idle", float64(r.AfterIdle.Streams))
	if o.GoroutineDump == "" {
		zero("temp files left after the proxy exited", float64(len(r.TempLeftAfterExit)))
	}
	if len(base) == 0 || len(end) == 0 || len(idle) == 0 || len(start) == 0 {
		r.Checks = append(r.Checks, SoakCheck{Name: "samples in every window", Limit: "≥ 1"})
	}
	r.Pass = true
	for _, c := range r.Checks {
		r.Pass = r.Pass && c.OK
	}
}

func (r *SoakReport) failed() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, fmt.Sprintf("%s: %v → %v (%+.1f %%, limit %s)", c.Name, c.From, c.To, c.Percent, c.Limit))
		}
	}
	return out
}

// medianSample returns the median of each figure of ss (zero for none).
func medianSample(ss []SoakSample) SoakSample {
	if len(ss) == 0 {
		return SoakSample{}
	}
	med := func(f func(SoakSample) int64) int64 {
		vs := make([]int64, len(ss))
		for i, s := range ss {
			vs[i] = f(s)
		}
		slices.Sort(vs)
		return vs[len(vs)/2]
	}
	m := SoakSample{AtS: ss[len(ss)/2].AtS, Phase: ss[0].Phase}
	m.RSSBytes = med(func(s SoakSample) int64 { return s.RSSBytes })
	m.AnonBytes = med(func(s SoakSample) int64 { return s.AnonBytes })
	m.Goroutines = int(med(func(s SoakSample) int64 { return int64(s.Goroutines) }))
	m.FDs = int(med(func(s SoakSample) int64 { return int64(s.FDs) }))
	m.HeapInuse = med(func(s SoakSample) int64 { return s.HeapInuse })
	m.HeapLiveMB = int(med(func(s SoakSample) int64 { return int64(s.HeapLiveMB) }))
	m.GCs = int(med(func(s SoakSample) int64 { return int64(s.GCs) }))
	m.TempBytes = med(func(s SoakSample) int64 { return s.TempBytes })
	m.TempFiles = int(med(func(s SoakSample) int64 { return int64(s.TempFiles) }))
	m.Sessions = int(med(func(s SoakSample) int64 { return int64(s.Sessions) }))
	m.Streams = int(med(func(s SoakSample) int64 { return int64(s.Streams) }))
	return m
}

func peakOf(p, s SoakSample) SoakSample {
	p.RSSBytes = max(p.RSSBytes, s.RSSBytes)
	p.AnonBytes = max(p.AnonBytes, s.AnonBytes)
	p.Goroutines = max(p.Goroutines, s.Goroutines)
	p.FDs = max(p.FDs, s.FDs)
	p.HeapInuse = max(p.HeapInuse, s.HeapInuse)
	p.HeapLiveMB = max(p.HeapLiveMB, s.HeapLiveMB)
	p.TempBytes = max(p.TempBytes, s.TempBytes)
	p.TempFiles = max(p.TempFiles, s.TempFiles)
	p.Sessions = max(p.Sessions, s.Sessions)
	p.Streams = max(p.Streams, s.Streams)
	return p
}

// overlaps returns the first of ws that [from, to] meets.
func overlaps(ws []Window, from, to time.Duration) (Window, bool) {
	for _, w := range ws {
		if w.Overlaps(from, to) {
			return w, true
		}
	}
	return Window{}, false
}

func roundTenth(f float64) float64 { return math.Round(f*10) / 10 }

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func pickIDs(r *rand.Rand, ids []string, n int) []any {
	out := make([]any, 0, n)
	for _, i := range r.Perm(len(ids))[:min(n, len(ids))] {
		out = append(out, ids[i])
	}
	return out
}

// sandboxIDs returns the account ids the sandbox of `serve --sandbox`
// seeds: its data is deterministic, so an emulator started here with the
// same (default) options holds the same ones.
func sandboxIDs() ([]string, error) {
	sim, err := zohosim.Start(zohosim.Options{})
	if err != nil {
		return nil, err
	}
	defer sim.Close()
	ids := sim.Store().IDs()
	if len(ids) < 250 {
		return nil, fmt.Errorf("soak: the sandbox seeds %d accounts, want at least 250", len(ids))
	}
	return ids, nil
}

// soakProxy is the proxy under a soak, with what its stderr tells.
type soakProxy struct {
	*Proxy
	admin string
	gc    *gcTrace
}

// startSandboxProxy starts `serve --transport http --sandbox` with TMPDIR
// tmp and GODEBUG=gctrace=1, and waits until it is healthy and has logged
// its emulator's admin URL.
func startSandboxProxy(ctx context.Context, bin, tmp string, ttl time.Duration) (*soakProxy, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--transport", "http", "--sandbox", "--addr", addr}
	if ttl > 0 {
		args = append(args, "--session-idle-ttl", ttl.String())
	}
	var env []string
	for _, kv := range BaseEnv() {
		if !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	// --sandbox keeps no token cache, but a cache dir of its own keeps the
	// user's out of reach all the same.
	cache, err := os.MkdirTemp("", "zmp-soak-cache-*")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(env, "TMPDIR="+tmp, "XDG_CACHE_HOME="+cache, "GODEBUG=gctrace=1")
	gc := &gcTrace{tail: &tailBuffer{max: 1 << 20}, live: -1}
	cmd.Stderr = gc
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(cache)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	p := &Proxy{URL: "http://" + addr, PID: cmd.Process.Pid, cmd: cmd, stderr: gc.tail, done: make(chan error, 1),
		hc: &http.Client{Timeout: 5 * time.Second}}
	go func() { p.done <- cmd.Wait() }()
	p.stop = func() error {
		defer os.RemoveAll(cache)
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-p.done:
			return err
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
			return errors.New("proxy did not stop within 30s of SIGTERM; killed")
		}
	}
	sp := &soakProxy{Proxy: p, gc: gc}
	if err := p.waitHealthy(ctx, 20*time.Second); err != nil {
		_ = p.Close()
		return nil, err
	}
	if sp.admin = gc.adminURL(); sp.admin == "" {
		_ = p.Close()
		return nil, fmt.Errorf("the proxy did not log its sandbox admin URL; stderr: %s", p.Stderr())
	}
	return sp, nil
}

// sample reads the proxy's figures.
func (p *soakProxy) sample(ctx context.Context, tmp string) (SoakSample, error) {
	var s SoakSample
	pid := strconv.Itoa(p.PID)
	statm, err := os.ReadFile("/proc/" + pid + "/statm")
	if err != nil {
		return s, err
	}
	if s.RSSBytes, s.AnonBytes, err = parseStatm(string(statm), os.Getpagesize()); err != nil {
		return s, err
	}
	fds, err := os.ReadDir("/proc/" + pid + "/fd")
	if err != nil {
		return s, err
	}
	s.FDs = len(fds)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+server.PathMetrics, nil)
	resp, err := p.hc.Do(req)
	if err != nil {
		return s, err
	}
	m, err := ParseMetrics(resp.Body, "go_goroutines", "go_memstats_heap_inuse_bytes", "zoho_mcp_proxy_http_sessions", "zoho_mcp_proxy_http_streams")
	_ = resp.Body.Close()
	if err != nil {
		return s, err
	}
	s.Goroutines, s.HeapInuse = int(m["go_goroutines"]), int64(m["go_memstats_heap_inuse_bytes"])
	s.Sessions, s.Streams = int(m["zoho_mcp_proxy_http_sessions"]), int(m["zoho_mcp_proxy_http_streams"])
	s.HeapLiveMB, s.GCs = p.gc.last()
	s.TempBytes, s.TempFiles = dirUsage(tmp)
	return s, nil
}

// quitDump ends the proxy with SIGQUIT and writes the goroutine dump it
// prints to path.
func (p *soakProxy) quitDump(path string) error {
	p.stop = nil // not SIGTERM later
	if err := p.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return err
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	out := p.Stderr()
	if i := strings.Index(out, "SIGQUIT"); i >= 0 {
		out = out[i:]
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// runFault switches step on at the sandbox until ctx ends.
func (p *soakProxy) runFault(ctx context.Context, hc *http.Client, step SoakFault) error {
	if step.Flap <= 0 {
		if err := p.setFault(hc, step.Surface, step.Mode); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	}
	for on := true; ctx.Err() == nil; on = !on {
		var err error
		if on {
			err = p.setFault(hc, step.Surface, step.Mode)
		} else {
			err = p.clearFaults(hc)
		}
		if err != nil {
			return err
		}
		sleepCtx(ctx, step.Flap)
	}
	return nil
}

func (p *soakProxy) setFault(hc *http.Client, sf zohosim.Surface, mode zohosim.FaultMode) error {
	b, _ := json.Marshal(map[string]any{"surface": sf, "mode": mode})
	return adminDo(hc, http.MethodPost, p.admin+"/admin/faults", b)
}

func (p *soakProxy) clearFaults(hc *http.Client) error {
	return adminDo(hc, http.MethodDelete, p.admin+"/admin/faults", nil)
}

func adminDo(hc *http.Client, method, url string, body []byte) error {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("%s %s: %s %s", method, url, resp.Status, b)
	}
	return nil
}

// parseStatm returns the resident set of a /proc/PID/statm line in bytes,
// and its anonymous part (resident − shared: what is not file-backed, such
// as the binary's code paged in).
func parseStatm(statm string, pageSize int) (rss, anon int64, err error) {
	f := strings.Fields(statm)
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("unexpected statm %q", statm)
	}
	res, err1 := strconv.ParseInt(f[1], 10, 64)
	shared, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || shared > res {
		return 0, 0, fmt.Errorf("unexpected statm %q", statm)
	}
	return res * int64(pageSize), (res - shared) * int64(pageSize), nil
}

// dirUsage returns the bytes and number of regular files under dir.
func dirUsage(dir string) (bytes int64, files int) {
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			bytes += info.Size()
			files++
		}
		return nil
	})
	return bytes, files
}

// filesUnder lists every entry under dir (dir itself excluded).
func filesUnder(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err == nil && path != dir {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// gcTrace is the proxy's stderr: it keeps the tail and reads the GODEBUG
// gctrace lines and the sandbox's admin URL from it.
type gcTrace struct {
	tail *tailBuffer
	mu   sync.Mutex
	part []byte
	live int // MB live after the last GC, -1 before the first
	gcs  int
	adm  string
}

var (
	gcLine    = regexp.MustCompile(`^gc \d+ @.*?(\d+)->(\d+)->(\d+) MB`)
	adminLine = regexp.MustCompile(`admin_url"?[=:]"?(http://127\.0\.0\.1:\d+)`)
)

func (g *gcTrace) Write(b []byte) (int, error) {
	_, _ = g.tail.Write(b)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.part = append(g.part, b...)
	for {
		i := bytes.IndexByte(g.part, '\n')
		if i < 0 {
			break
		}
		g.line(string(g.part[:i]))
		g.part = g.part[i+1:]
	}
	if len(g.part) > 64<<10 { // a runaway line: forget it
		g.part = g.part[:0]
	}
	return len(b), nil
}

func (g *gcTrace) line(l string) {
	if m := gcLine.FindStringSubmatch(l); m != nil {
		g.live, _ = strconv.Atoi(m[3])
		g.gcs++
		return
	}
	if g.adm == "" {
		if m := adminLine.FindStringSubmatch(l); m != nil {
			g.adm = m[1]
		}
	}
}

func (g *gcTrace) last() (liveMB, gcs int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.live, g.gcs
}

func (g *gcTrace) adminURL() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.adm
}

// rawMCP speaks Streamable HTTP and legacy SSE by hand, to do what a
// well-behaved client library never does.
type rawMCP struct {
	url string
	hc  *http.Client
}

const initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + soakEra + `","capabilities":{},"clientInfo":{"name":"zmp-soak","version":"1"}}}`

// initialize opens a legacy session and returns its id.
func (m *rawMCP) initialize(ctx context.Context) (string, error) {
	resp, err := m.do(ctx, "", initBody)
	if err != nil {
		return "", err
	}
	sid := resp.Header.Get("Mcp-Session-Id")
	if sid == "" {
		return "", errors.New("initialize: no Mcp-Session-Id")
	}
	return sid, m.post(ctx, sid, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
}

// call sends a tools/call on session sid and reads the answer.
func (m *rawMCP) call(ctx context.Context, sid string, id int, tool string, args map[string]any) error {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": tool, "arguments": args}})
	return m.post(ctx, sid, string(b))
}

// post sends body on session sid and reads the answer to its end.
func (m *rawMCP) post(ctx context.Context, sid, body string) error {
	_, err := m.do(ctx, sid, body)
	return err
}

func (m *rawMCP) do(ctx context.Context, sid, body string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if sid != "" {
		req.Header.Set("Mcp-Session-Id", sid)
		req.Header.Set("MCP-Protocol-Version", soakEra)
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 8<<20))
	_ = resp.Body.Close()
	if resp.StatusCode >= 300 {
		return resp, fmt.Errorf("POST %s: %s", m.url, resp.Status)
	}
	return resp, nil
}

// streamClient opens one connection per request and never reuses it, so
// that ending a stream drops its connection.
var streamClient = &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

// holdStream opens a session and its GET stream, holds the stream for
// hold without reading it, then drops the connection (no DELETE).
func (m *rawMCP) holdStream(ctx context.Context, hold time.Duration) error {
	sid, err := m.initialize(ctx)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, m.url, nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("MCP-Protocol-Version", soakEra)
	resp, err := streamClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET stream: %s", resp.Status)
	}
	sleepCtx(ctx, hold)
	return nil
}

// dropSSE opens a legacy SSE stream, initializes, calls get_account, and
// drops the stream right away, or once the answer arrived when answer.
func (m *rawMCP) dropSSE(ctx context.Context, base, accountID string, answer bool) error {
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, base+server.PathSSE, nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := streamClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", server.PathSSE, resp.Status)
	}
	br := bufio.NewReader(resp.Body)
	endpoint := ""
	for endpoint == "" {
		l, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("SSE endpoint event: %w", err)
		}
		if d, ok := strings.CutPrefix(strings.TrimSpace(l), "data:"); ok {
			endpoint = strings.TrimSpace(d)
		}
	}
	if strings.HasPrefix(endpoint, "/") {
		endpoint = base + endpoint
	}
	post := func(body string) error {
		req, _ := http.NewRequestWithContext(sctx, http.MethodPost, endpoint, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		r, err := m.hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
		if r.StatusCode >= 300 {
			return fmt.Errorf("POST %s: %s", server.PathMessage, r.Status)
		}
		return nil
	}
	if err := post(initBody); err != nil {
		return err
	}
	if err := post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil {
		return err
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call",
		"params": map[string]any{"name": "get_account", "arguments": map[string]any{"account_id": accountID}}})
	if err := post(string(b)); err != nil {
		return err
	}
	if !answer {
		return nil
	}
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("SSE answer: %w", err)
		}
		if strings.HasPrefix(l, "data:") && strings.Contains(l, `"id":2`) {
			return nil
		}
	}
}
