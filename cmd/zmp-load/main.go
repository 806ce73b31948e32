// Command zmp-load is the proxy's load generator and benchmark runner: many
// concurrent MCP sessions with faults switched on and off (run), proxy vs
// direct Zoho calls (compare), cold start over stdio (coldstart), idle RSS
// (rss) and a soak of the shipped defaults under hostile callers and faults
// (soak). All traffic stays on 127.0.0.1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/loadtest"
)

const usage = `zmp-load: load and benchmarks for zoho-mcp-proxy (127.0.0.1 only).

Usage:
  zmp-load [run] [-sessions N] [-duration D] [-faults on|off] [-era V] [-json] [-out FILE] [-bin PATH | -inprocess]
  zmp-load compare   [-era V|both] [-c N] [-calls N] [-for D] [-json] [-out FILE] [-bin PATH | -inprocess]
  zmp-load coldstart [-n 20] [-era V|both] [-json] [-out FILE] [-bin PATH]
  zmp-load rss       [-calls 100] [-json] [-out FILE] [-bin PATH]
  zmp-load soak      [-duration 10m] [-warmup 2m] [-window 1m] [-settle 1m] [-idle 3m] [-every 5s]
                     [-session-ttl 1m] [-workers 6] [-streams 4] [-limit 10] [-goroutine-dump FILE]
                     [-json] [-out FILE] [-bin PATH]

Without -bin the proxy is built from this module with "go build". run and
compare start the Zoho emulator in this process and the proxy as a
subprocess, so the proxy's goroutines and RSS are its own. compare also
measures a floor: the same direct calls through a bare net/http reverse
proxy (zmp-load itself, as another subprocess), and a yardstick: the direct
MCP calls through a general-purpose MCP proxy built on mcp-go (zmp-load
relay -mcp, likewise). soak runs
"serve --transport http --sandbox" as shipped (only the session idle TTL
shortened, so that abandoned sessions expire within the run) and exits 1
when RSS, goroutines or fds grow by more than -limit percent, state is left
after the idle period, or temp files survive the proxy.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case err != nil:
		fmt.Fprintln(os.Stderr, "zmp-load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runLoad(ctx, args)
	case "compare":
		return runCompare(ctx, args)
	case "coldstart":
		return runColdStart(ctx, args)
	case "rss":
		return runRSS(ctx, args)
	case "soak":
		return runSoak(ctx, args)
	case "relay": // hidden: compare's floor and yardstick, started by compare itself
		return loadtest.RelayMain(ctx, args)
	case "help":
		fmt.Print(usage)
		return nil
	}
	return fmt.Errorf("unknown command %q: use run, compare, coldstart, rss or soak", cmd)
}

// common are the flags every command shares.
type common struct {
	asJSON  bool
	out     string
	jsonOut string
	bin     string
	inproc  bool
}

func (c *common) register(fs *flag.FlagSet, inproc bool) {
	fs.BoolVar(&c.asJSON, "json", false, "print JSON instead of markdown")
	fs.StringVar(&c.out, "out", "", "write the result to FILE (default stdout)")
	fs.StringVar(&c.jsonOut, "json-out", "", "also write the JSON result to FILE")
	fs.StringVar(&c.bin, "bin", "", "zoho-mcp-proxy binary (default: go build it into a temp dir)")
	if inproc {
		fs.BoolVar(&c.inproc, "inprocess", false, "run the proxy inside this process (quick runs; resource figures then include the load generator)")
	}
}

// binary returns the proxy to spawn ("" in process) and a cleanup.
func (c *common) binary(ctx context.Context) (string, func(), error) {
	if c.inproc {
		return "", func() {}, nil
	}
	if c.bin != "" {
		return c.bin, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "zmp-load-bin-*")
	if err != nil {
		return "", nil, err
	}
	logf("building zoho-mcp-proxy")
	b, err := loadtest.BuildBinary(ctx, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return b, func() { _ = os.RemoveAll(dir) }, nil
}

// emit writes v as JSON or calls md, to -out or stdout.
func (c *common) emit(v any, md func(io.Writer)) error {
	if c.jsonOut != "" {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	w := io.Writer(os.Stdout)
	if c.out != "" {
		f, err := os.Create(c.out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if c.asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	md(w)
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

func eras(v string) ([]string, error) {
	switch v {
	case "both":
		return []string{loadtest.EraLegacy, loadtest.EraModern}, nil
	case loadtest.EraLegacy, loadtest.EraModern:
		return []string{v}, nil
	}
	return nil, fmt.Errorf("-era %q: use %s, %s or both", v, loadtest.EraModern, loadtest.EraLegacy)
}

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c common
	c.register(fs, true)
	sessions := fs.Int("sessions", 100, "concurrent MCP sessions")
	duration := fs.Duration("duration", 20*time.Second, "length of the load phase")
	faults := fs.String("faults", "on", "switch emulator faults on and off during the run: on or off")
	era := fs.String("era", loadtest.EraModern, "MCP protocol version: "+loadtest.EraModern+" or "+loadtest.EraLegacy)
	think := fs.Duration("think", 100*time.Millisecond, "pause between a session's calls (±50 %); 0 for none")
	faultOn := fs.Duration("fault-on", 2*time.Second, "how long each fault stays on")
	faultOff := fs.Duration("fault-off", 3*time.Second, "pause between faults")
	maxInFlight := fs.Int("max-in-flight", 0, "proxy http.max_in_flight (0 = the proxy's default, 256)")
	logLevel := fs.String("log-level", "info", "proxy --log-level (info logs one line per tool call)")
	breaker := fs.Duration("breaker-timeout", 5*time.Second, "proxy CIRCUIT_BREAKER_TIMEOUT, so tiers recover within the run")
	grace := fs.Duration("fault-grace", 0, "errors this long after a fault clears count as injected (0 = breaker-timeout + 2s: breakers stay open that long)")
	accounts := fs.Int("accounts", 500, "accounts seeded in the emulator (its search scans them all: more accounts make the emulator, not the proxy, the bottleneck)")
	zohoConc := fs.Int("zoho-concurrency", 0, "the emulator's in-flight limit (0 = 100,000, i.e. no Zoho 429s unless injected)")
	cpuprofile := fs.String("cpuprofile", "", cpuprofileUsage)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *faults != "on" && *faults != "off" {
		return fmt.Errorf("-faults %q: use on or off", *faults)
	}
	if _, err := eras(*era); err != nil || *era == "both" {
		return fmt.Errorf("-era %q: use %s or %s", *era, loadtest.EraModern, loadtest.EraLegacy)
	}
	if *cpuprofile != "" && !c.inproc {
		return errNeedsInProcess
	}
	if *think == 0 {
		*think = -1
	}
	if *grace == 0 {
		*grace = *breaker + 2*time.Second
	}
	bin, cleanup, err := c.binary(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	sim, err := loadtest.StartEmulator(loadtest.EmulatorOptions{Accounts: *accounts, Concurrency: *zohoConc})
	if err != nil {
		return err
	}
	defer sim.Close()
	proxy, err := loadtest.StartProxy(ctx, sim, loadtest.ProxyOptions{Binary: bin, MaxInFlight: *maxInFlight, LogLevel: *logLevel,
		Env: []string{fmt.Sprintf("CIRCUIT_BREAKER_TIMEOUT=%s", *breaker)}})
	if err != nil {
		return err
	}
	defer proxy.Close()
	stopProfile, err := startProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	rep, err := loadtest.Run(ctx, sim, proxy, loadtest.Options{
		Sessions: *sessions, Duration: *duration, Faults: *faults == "on", Era: *era, Think: *think,
		FaultOn: *faultOn, FaultOff: *faultOff, FaultGrace: *grace, Logf: logf,
	})
	if err != nil {
		return err
	}
	return c.emit(rep, rep.WriteMarkdown)
}

const cpuprofileUsage = "with -inprocess: write a CPU profile of this process to FILE; the proxy's requests carry the label side=proxy (go tool pprof -tagfocus side=proxy)"

var errNeedsInProcess = errors.New("-cpuprofile needs -inprocess (a subprocess proxy has no profiling endpoint)")

// startProfile starts a CPU profile into path ("" = none) and returns its
// stop function.
func startProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }, nil
}

func runCompare(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	var c common
	c.register(fs, true)
	era := fs.String("era", "both", "protocol version(s): both, "+loadtest.EraModern+" or "+loadtest.EraLegacy)
	conc := fs.Int("c", 16, "concurrency of the throughput phase")
	calls := fs.Int("calls", 1000, "sequential calls for the c=1 latency, per round")
	dur := fs.Duration("for", 3*time.Second, "length of the throughput phase, per round")
	rounds := fs.Int("rounds", 3, "interleaved rounds; each figure is the median over rounds")
	logLevel := fs.String("log-level", "info", "proxy --log-level (info logs one line per tool call)")
	cpuprofile := fs.String("cpuprofile", "", cpuprofileUsage)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *cpuprofile != "" && !c.inproc {
		return errNeedsInProcess
	}
	es, err := eras(*era)
	if err != nil {
		return err
	}
	bin, cleanup, err := c.binary(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	stopProfile, err := startProfile(*cpuprofile)
	if err != nil {
		return err
	}
	defer stopProfile()
	// The floor's relay is this program again (zmp-load relay), a process
	// of its own like the proxy, unless the proxy runs in this process too.
	var relay []string
	if !c.inproc {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		relay = []string{self, "relay"}
	}
	rs, err := loadtest.Compare(ctx, loadtest.CompareOptions{Eras: es, Binary: bin, Relay: relay, LogLevel: *logLevel, Logf: logf, Rounds: *rounds,
		Bench: loadtest.BenchOptions{Calls: *calls, Conc: *conc, For: *dur}})
	if err != nil {
		return err
	}
	return c.emit(rs, func(w io.Writer) { loadtest.WriteCompareMarkdown(w, rs) })
}

func runColdStart(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("coldstart", flag.ContinueOnError)
	var c common
	c.register(fs, false)
	n := fs.Int("n", 20, "runs; the median is reported")
	era := fs.String("era", "both", "protocol version(s): both, "+loadtest.EraModern+" or "+loadtest.EraLegacy)
	if err := parse(fs, args); err != nil {
		return err
	}
	es, err := eras(*era)
	if err != nil {
		return err
	}
	bin, cleanup, err := c.binary(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	var out []loadtest.ColdStart
	for _, e := range es {
		logf("cold start ×%d, %s", *n, e)
		cs, err := loadtest.MeasureColdStart(ctx, bin, e, *n)
		if err != nil {
			return err
		}
		out = append(out, cs)
	}
	return c.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "| protocol | runs | median ms | min ms | max ms | tools | goal | met |\n|---|---:|---:|---:|---:|---:|---|---|\n")
		for _, cs := range out {
			ok := "met"
			if cs.Median > 20 {
				ok = "not met"
			}
			fmt.Fprintf(w, "| %s | %d | %.1f | %.1f | %.1f | %d | ≤ 20 ms | %s |\n", cs.Era, len(cs.Runs), cs.Median, cs.Min, cs.Max, cs.ToolsN, ok)
		}
		fmt.Fprintf(w, "\nSpawn of `zoho-mcp-proxy serve --sandbox` (stdio, emulator in process) until the tools/list answer arrives, discover/initialize included.\n")
	})
}

func runRSS(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rss", flag.ContinueOnError)
	var c common
	c.register(fs, false)
	calls := fs.Int("calls", 100, "get_account calls before the second reading")
	if err := parse(fs, args); err != nil {
		return err
	}
	bin, cleanup, err := c.binary(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	rs, err := loadtest.MeasureIdleRSS(ctx, bin, *calls)
	if err != nil {
		return err
	}
	return c.emit(rs, func(w io.Writer) {
		fmt.Fprintf(w, "| process | VmRSS after start MiB | after %d calls MiB | goal | met |\n|---|---:|---:|---|---|\n", *calls)
		for _, r := range rs {
			ok := "met"
			if r.AfterStart > 20 {
				ok = "not met"
			}
			fmt.Fprintf(w, "| %s | %.1f | %.1f | ≤ 20 MiB idle | %s |\n", r.Name, r.AfterStart, r.AfterCalls, ok)
		}
		fmt.Fprintf(w, "\nVmRSS from /proc/PID/status, read 1 s after /healthz answered and 1 s after the calls.\n")
	})
}

func runSoak(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	var c common
	c.register(fs, false)
	var o loadtest.SoakOptions
	fs.DurationVar(&o.Duration, "duration", 10*time.Minute, "the load phase, warm-up included")
	fs.DurationVar(&o.Warmup, "warmup", 2*time.Minute, "load before the baseline window (longer than -session-ttl)")
	fs.DurationVar(&o.Window, "window", time.Minute, "length of the baseline and end windows (medians of their samples)")
	fs.DurationVar(&o.Settle, "settle", time.Minute, "faults stay off this long before and during each window")
	fs.DurationVar(&o.Idle, "idle", 3*time.Minute, "quiet time after the load before the last figures")
	fs.DurationVar(&o.SampleEvery, "every", 5*time.Second, "sampling interval")
	fs.DurationVar(&o.SessionTTL, "session-ttl", time.Minute, "the proxy's --session-idle-ttl (the one setting changed from the defaults); negative keeps its default of 30m")
	fs.IntVar(&o.Workers, "workers", 6, "well-behaved sessions calling the tool mix")
	fs.IntVar(&o.Streams, "streams", 4, "GET streams and SSE streams held and dropped at once, each")
	fs.Float64Var(&o.LimitPercent, "limit", 10, "allowed growth of RSS, goroutines and fds, in percent")
	fs.StringVar(&o.GoroutineDump, "goroutine-dump", "", "end the proxy with SIGQUIT instead of SIGTERM and write its goroutine dump to FILE (skips the temp files check)")
	if err := parse(fs, args); err != nil {
		return err
	}
	bin, cleanup, err := c.binary(ctx)
	if err != nil {
		return err
	}
	defer cleanup()
	o.Binary, o.Logf = bin, logf
	rep, err := loadtest.Soak(ctx, o)
	if rep != nil {
		if eerr := c.emit(rep, rep.WriteMarkdown); eerr != nil {
			return errors.Join(err, eerr)
		}
	}
	return err
}
