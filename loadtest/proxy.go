package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/app"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// binaryPackage is the import path of the proxy's main package.
const binaryPackage = "github.com/zoho-mcp-proxy/zoho-mcp-proxy/cmd/zoho-mcp-proxy"

// BuildBinary builds the proxy binary into dir and returns its path. It runs
// `go build`, so it works only inside the module (tests, `go run`).
func BuildBinary(ctx context.Context, dir string) (string, error) {
	out := filepath.Join(dir, "zoho-mcp-proxy")
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, binaryPackage)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", binaryPackage, err, b)
	}
	return out, nil
}

// EmulatorOptions are the Zoho emulator's settings for a run. The load
// generator owns the emulator, so the proxy process is measured alone and
// faults are switched from Go.
type EmulatorOptions struct {
	// Accounts seeded; 0 means 500.
	Accounts int
	// Concurrency is Zoho's in-flight call limit the emulator enforces; 0
	// means 100,000 (effectively none: a load test of the proxy should not
	// measure Zoho's 429s unless asked to).
	Concurrency int
	// Credits is the emulator's 24-hour credit budget; 0 means 1e9.
	Credits int
}

// StartEmulator starts the Zoho emulator on 127.0.0.1 with o.
func StartEmulator(o EmulatorOptions) (*zohosim.Sim, error) {
	if o.Concurrency == 0 {
		o.Concurrency = 100_000
	}
	if o.Credits == 0 {
		o.Credits = 1_000_000_000
	}
	return zohosim.Start(zohosim.Options{Accounts: o.Accounts, Concurrency: o.Concurrency, Credits: o.Credits,
		JobStep: 50 * time.Millisecond})
}

// ProxyOptions say how to run the proxy under test.
type ProxyOptions struct {
	// Binary is the zoho-mcp-proxy executable to run as a subprocess. Empty
	// means in-process (app.Build in this process; Sample then measures
	// this whole process, load generator included).
	Binary string
	// Env are extra KEY=value settings on top of the emulator's (tier
	// switches, breaker settings).
	Env []string
	// MaxInFlight is the proxy's http.max_in_flight; 0 keeps its default.
	MaxInFlight int
	// LogLevel is the proxy's --log-level; "" means info (the default: one
	// log line per tool call, as in production).
	LogLevel string
	// Logger receives in-process proxy logs; nil discards them.
	Logger *slog.Logger
}

// Proxy is a running proxy under test on 127.0.0.1.
type Proxy struct {
	// URL is the base URL, e.g. http://127.0.0.1:41234 (Streamable HTTP at
	// URL+"/mcp").
	URL string
	// PID is the subprocess's id; 0 in process.
	PID int

	cmd    *exec.Cmd
	stderr *tailBuffer
	done   chan error
	stop   func() error
	hc     *http.Client
}

// StartProxy starts `zoho-mcp-proxy serve --transport http` pointed at sim
// (or the in-process equivalent) and waits until /healthz answers.
func StartProxy(ctx context.Context, sim *zohosim.Sim, o ProxyOptions) (*Proxy, error) {
	env := append(append([]string{}, sim.Env()...), o.Env...)
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	p := &Proxy{hc: &http.Client{Timeout: 5 * time.Second}}
	if o.Binary == "" {
		if err := p.startInProcess(sim, env, o); err != nil {
			return nil, err
		}
	} else if err := p.startProcess(ctx, env, o); err != nil {
		return nil, err
	}
	if err := p.waitHealthy(ctx, 15*time.Second); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}

func (p *Proxy) startInProcess(sim *zohosim.Sim, env []string, o ProxyOptions) error {
	kv := map[string]string{}
	for _, l := range env {
		if k, v, ok := strings.Cut(l, "="); ok {
			kv[k] = v
		}
	}
	cfg, err := config.Load(config.Flags{}, func(k string) string { return kv[k] })
	if err != nil {
		return err
	}
	cfg.UseSandbox(sim.Env())
	if o.MaxInFlight > 0 {
		cfg.HTTP.MaxInFlight = o.MaxInFlight
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	app, err := app.Build(cfg, app.Options{Logger: log, Version: "loadtest"})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		_ = app.Close()
		return err
	}
	// The proxy's handler, served here so that every request runs under the
	// pprof label side=proxy: a CPU profile of this process then separates
	// the proxy (-tagfocus side=proxy) from the emulator and the clients.
	h := app.HTTP().Handler(true)
	labels := pprof.Labels("side", "proxy")
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pprof.Do(r.Context(), labels, func(context.Context) { h.ServeHTTP(w, r) })
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	p.done = make(chan error, 1)
	go func() { p.done <- srv.Serve(ln) }()
	p.URL = "http://" + ln.Addr().String()
	p.stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		<-p.done
		return errors.Join(err, app.Close())
	}
	return nil
}

// FreeAddr returns a free 127.0.0.1 port as host:port (listen, close).
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// BaseEnv is the environment a spawned proxy gets besides its settings:
// only PATH, HOME and TMPDIR of ours, so no real Zoho credential of the
// caller's environment can reach the emulator.
func BaseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (p *Proxy) startProcess(ctx context.Context, env []string, o ProxyOptions) error {
	addr, err := FreeAddr()
	if err != nil {
		return err
	}
	args := []string{"serve", "--transport", "http", "--addr", addr, "--log-format", "json", "--log-level", o.LogLevel}
	var cfgFile string
	if o.MaxInFlight > 0 {
		f, err := os.CreateTemp("", "zmp-load-*.yaml")
		if err != nil {
			return err
		}
		cfgFile = f.Name()
		_, err = fmt.Fprintf(f, "http:\n  max_in_flight: %d\n", o.MaxInFlight)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		args = append(args, "--config", cfgFile)
	}
	// The proxy runs without --sandbox (it talks to our emulator), so it
	// would cache emulator tokens on disk: give it a cache dir of its own.
	cache, err := os.MkdirTemp("", "zmp-load-cache-*")
	if err != nil {
		return err
	}
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = append(append(BaseEnv(), "XDG_CACHE_HOME="+cache), env...)
	if err := p.spawn(cmd, func() {
		if cfgFile != "" {
			_ = os.Remove(cfgFile)
		}
		_ = os.RemoveAll(cache)
	}); err != nil {
		return fmt.Errorf("start %s: %w", o.Binary, err)
	}
	p.URL = "http://" + addr
	return nil
}

// spawn starts cmd as p's process, its stderr kept for error messages;
// Close sends it SIGTERM, waits, then runs cleanup (if not nil), which
// spawn also runs when cmd does not start.
func (p *Proxy) spawn(cmd *exec.Cmd, cleanup func()) error {
	if cleanup == nil {
		cleanup = func() {}
	}
	p.stderr = &tailBuffer{max: 64 << 10}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		cleanup()
		return err
	}
	p.cmd, p.PID = cmd, cmd.Process.Pid
	p.done = make(chan error, 1)
	go func() { p.done <- cmd.Wait() }()
	p.stop = func() error {
		defer cleanup()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return nil // exit status after SIGTERM is the process's business
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
			return fmt.Errorf("%s did not stop within 15s of SIGTERM; killed", cmd.Path)
		}
	}
	return nil
}

func (p *Proxy) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+"/healthz", nil)
		resp, err := p.hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-p.done:
			return fmt.Errorf("proxy exited before it was healthy (%v): %s", err, p.Stderr())
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("proxy at %s not healthy after %s: %v; stderr: %s", p.URL, limit, err, p.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Endpoint is the Streamable HTTP endpoint.
func (p *Proxy) Endpoint() string { return p.URL + server.PathMCP }

// Stderr returns the last 64 KiB the subprocess wrote to stderr ("" in
// process).
func (p *Proxy) Stderr() string {
	if p.stderr == nil {
		return ""
	}
	return p.stderr.String()
}

// Close stops the proxy (SIGTERM for a subprocess) and waits for it.
func (p *Proxy) Close() error {
	if p.stop == nil {
		return nil
	}
	stop := p.stop
	p.stop = nil
	return stop()
}

// Sample is the proxy's resource use at one moment.
type Sample struct {
	At         time.Duration `json:"-"`     // since the run started
	AtMS       int64         `json:"at_ms"` // At in milliseconds
	Goroutines int           `json:"goroutines"`
	RSSBytes   int64         `json:"rss_bytes"`
	InFlight   int           `json:"in_flight"` // calls the load generator had open (set by Run)
}

// Sample reads goroutines and resident memory: from /metrics (go_goroutines,
// process_resident_memory_bytes) for a subprocess, with /proc/PID/status
// VmRSS as fallback; from the runtime and /proc/self in process.
func (p *Proxy) Sample(ctx context.Context) (Sample, error) {
	if p.PID == 0 {
		rss, _ := ReadVmRSS("self")
		return Sample{Goroutines: runtime.NumGoroutine(), RSSBytes: rss}, nil
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL+server.PathMetrics, nil)
	resp, err := p.hc.Do(req)
	if err != nil {
		return Sample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Sample{}, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	m, err := ParseMetrics(resp.Body, "go_goroutines", "process_resident_memory_bytes")
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Goroutines: int(m["go_goroutines"]), RSSBytes: int64(m["process_resident_memory_bytes"])}
	if s.RSSBytes == 0 {
		s.RSSBytes, _ = ReadVmRSS(strconv.Itoa(p.PID))
	}
	return s, nil
}

// ParseMetrics reads the Prometheus text exposition in r and returns the
// values of the named unlabelled samples it finds.
func ParseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || !want[name] {
			continue
		}
		if i := strings.IndexByte(val, ' '); i >= 0 { // optional timestamp
			val = val[:i]
		}
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: bad value %q", name, val)
		}
		out[name] = f
	}
	return out, sc.Err()
}

// ReadVmRSS returns VmRSS of /proc/<pid>/status in bytes (pid "self" for
// this process). Linux only.
func ReadVmRSS(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	return parseVmRSS(string(b))
}

func parseVmRSS(status string) (int64, error) {
	for _, line := range strings.Split(status, "\n") {
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		return kb << 10, nil
	}
	return 0, errors.New("no VmRSS line in /proc status")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > t.max { // trim in halves: amortised O(1)
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.b) > t.max {
		return string(t.b[len(t.b)-t.max:])
	}
	return string(t.b)
}
