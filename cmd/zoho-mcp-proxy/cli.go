package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/app"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/demo"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Exit codes (SPEC §2).
const (
	exitOK    = 0
	exitError = 1 // runtime or configuration error
	exitUsage = 2 // usage error
)

// usageError is a command-line mistake: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// env bundles what a command reads and writes, so tests can run it in
// process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         config.Getenv
	// open opens a URL in the user's browser (login); tests replace it so
	// that no browser is ever launched.
	open func(url string) error
}

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv config.Getenv) int {
	return env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, open: openBrowser}.run(ctx, args)
}

// run runs the command of args with e: it returns the exit code.
func (e env) run(ctx context.Context, args []string) int {
	stderr := e.stderr
	name, args := splitCommand(args)
	var err error
	if c, ok := lookup(name); ok {
		err = c.run(e, ctx, args)
	} else {
		err = unknownCommand(name)
	}
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "zoho-mcp-proxy:", err)
		return exitUsage
	default:
		fmt.Fprintln(stderr, "zoho-mcp-proxy:", err)
		return exitError
	}
}

// newFlagSet returns a FlagSet that reports errors as usage errors.
func (e env) newFlagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: zoho-mcp-proxy %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning mistakes and stray arguments into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("%s: unexpected argument %q (flags start with --)", fs.Name(), fs.Arg(0))}
	}
	return nil
}

// configFlags registers the flags that feed config.Flags; after parsing,
// flags() returns only those given on the command line.
type configFlags struct {
	fs                                                              *flag.FlagSet
	transport, addr, cfg, permissions, profile, logLevel, logFormat *string
	sandbox                                                         *bool
	sessionIdleTTL, bulkTimeout                                     *time.Duration
	toolsets, tools                                                 *string
	readOnly                                                        *bool
	resultText                                                      *string
}

func newConfigFlags(fs *flag.FlagSet, full bool) *configFlags {
	c := &configFlags{fs: fs}
	c.cfg = fs.String("config", "", "YAML config file (env "+config.EnvConfig+")")
	c.permissions = fs.String("permissions", "", "permissions YAML file (env "+config.EnvPermissions+"); none = read, write, bulk, monitor for every caller")
	if full {
		c.transport = fs.String("transport", "stdio", "stdio or http")
		c.addr = fs.String("addr", config.DefaultAddr, "HTTP listen address (env "+config.EnvAddr+")")
		c.profile = fs.String("profile", "", "stdio caller's profile (env "+config.EnvProfile+"); default: the file's default_profile")
		c.sandbox = fs.Bool("sandbox", false, "run the built-in Zoho emulator in-process and point every tier at it")
		c.logLevel = fs.String("log-level", "info", "debug, info, warn or error (env "+config.EnvLogLevel+")")
		c.logFormat = fs.String("log-format", "auto", "auto (tint on a terminal, JSON otherwise), text or json")
		c.sessionIdleTTL = fs.Duration("session-idle-ttl", config.DefaultSessionIdleTTL, "HTTP: forget a Streamable HTTP session unused this long (env "+config.EnvSessionIdleTTL+")")
		c.bulkTimeout = fs.Duration("bulk-timeout", config.DefaultBulkTimeout, "deadline of one bulk tool call, a bulk job included (env "+config.EnvBulkTimeout+")")
	}
	c.toolsets = fs.String("toolsets", "accounts,records,monitor", "comma-separated toolsets to enable: accounts, records, monitor, or all (env "+config.EnvToolsets+")")
	c.tools = fs.String("tools", "", "comma-separated tools to enable by name, besides --toolsets; alone, only these (env "+config.EnvTools+")")
	c.readOnly = fs.Bool("read-only", false, "switch off every tool that changes Zoho data, whatever the profiles allow (env "+config.EnvReadOnly+")")
	c.resultText = fs.String("result-text", config.ResultTextFull, "a tool result's text: "+config.ResultTextFull+" = its summary line and the result as JSON, "+config.ResultTextSummary+" = the summary line only (the result is in structuredContent) (env "+config.EnvResultText+")")
	return c
}

func (c *configFlags) flags() config.Flags {
	var f config.Flags
	c.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "transport":
			f.Transport = c.transport
		case "addr":
			f.Addr = c.addr
		case "config":
			f.Config = c.cfg
		case "permissions":
			f.Permissions = c.permissions
		case "profile":
			f.Profile = c.profile
		case "sandbox":
			f.Sandbox = c.sandbox
		case "log-level":
			f.LogLevel = c.logLevel
		case "log-format":
			f.LogFormat = c.logFormat
		case "session-idle-ttl":
			f.SessionIdleTTL = c.sessionIdleTTL
		case "bulk-timeout":
			f.BulkTimeout = c.bulkTimeout
		case "toolsets":
			f.Toolsets = c.toolsets
		case "tools":
			f.Tools = c.tools
		case "read-only":
			f.ReadOnly = c.readOnly
		case "result-text":
			f.ResultText = c.resultText
		}
	})
	return f
}

// logger builds the logger for cfg, falling back to info/auto when the
// settings are invalid (Validate reports them).
func (e env) logger(cfg *config.Config) *slog.Logger {
	l, err := server.NewLogger(e.stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		l, _ = server.NewLogger(e.stderr, "info", "auto")
	}
	return l
}

// loadPolicy loads the permissions file of cfg, or the default policy.
func loadPolicy(cfg *config.Config) (*permissions.Policy, error) {
	if cfg.Permissions == "" {
		return permissions.Default(), nil
	}
	p, err := permissions.Load(cfg.Permissions)
	if err != nil {
		return nil, fmt.Errorf("permissions file: %w", err)
	}
	return p, nil
}

// stdioProfile picks the stdio caller's profile: --profile, else the
// policy's default profile.
func stdioProfile(cfg *config.Config, p *permissions.Policy) (*permissions.Profile, error) {
	if cfg.Profile == "" {
		return p.DefaultProfile(), nil
	}
	pr, ok := p.Profile(cfg.Profile)
	if !ok {
		var names []string
		for _, x := range p.Profiles() {
			names = append(names, x.Name)
		}
		return nil, fmt.Errorf("profile %q is not in the permissions file: use --profile with one of %s", cfg.Profile, strings.Join(names, ", "))
	}
	return pr, nil
}

// sandboxRequestLog is how many requests the emulator of serve --sandbox
// keeps in its request log (GET /admin/requests): enough to look at what the
// proxy just did, small enough that a sandbox served for days holds its
// memory flat (the emulator's default, 100,000 entries, is for tests).
const sandboxRequestLog = 1000

func (e env) serve(ctx context.Context, args []string) error {
	fs := e.newFlagSet("serve", "[--transport stdio|http] [--addr HOST:PORT] [--config FILE] [--permissions FILE] [--profile NAME] [--sandbox] [--log-level L] [--log-format F] [--session-idle-ttl D] [--toolsets T] [--tools N] [--read-only] [--result-text full|summary]")
	cf := newConfigFlags(fs, true)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(cf.flags(), e.getenv)
	if err != nil {
		return err
	}
	log := e.logger(cfg)
	if cfg.Sandbox {
		start := time.Now()
		sim, err := zohosim.Start(zohosim.Options{RequestLog: sandboxRequestLog})
		if err != nil {
			return fmt.Errorf("start the sandbox emulator: %w", err)
		}
		defer sim.Close()
		cfg.UseSandbox(sim.Env())
		log.Info("sandbox emulator running", "admin_url", sim.AdminURL(), "startup_ms", time.Since(start).Milliseconds())
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	policy, err := loadPolicy(cfg)
	if err != nil {
		return err
	}
	var profile *permissions.Profile
	if cfg.Transport == "stdio" {
		if profile, err = stdioProfile(cfg, policy); err != nil {
			return err
		}
	} else if err := server.CheckBind(cfg.Addr, policy); err != nil {
		return bindError(err, cfg.Permissions)
	}
	app, err := app.Build(cfg, app.Options{Policy: policy, Logger: log, Version: versionString()})
	if err != nil {
		return err
	}
	defer app.Close()
	log.Debug("configuration", "config", cfg)
	if cfg.Transport == "stdio" {
		log.Info("serving MCP over stdio", "profile", profile.Name, "version", versionString())
		return app.ServeStdio(ctx, e.stdin, e.stdout, profile)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (pick a free port with --addr)", cfg.Addr, err)
	}
	return app.ServeHTTP(ctx, ln)
}

func (e env) sandbox(ctx context.Context, args []string) error {
	fs := e.newFlagSet("sandbox", "[--addr 127.0.0.1:0] [--accounts N] [--seed S]")
	addr := fs.String("addr", "127.0.0.1:0", "listen host; the emulator takes one free port per surface (port must be 0)")
	accounts := fs.Int("accounts", 500, "number of seeded accounts")
	seed := fs.Uint64("seed", 1, "seed of the generated data")
	if err := parse(fs, args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil || !server.IsLoopbackAddr(*addr) {
		return usageError{fmt.Sprintf("sandbox: --addr %q must be a loopback host:port such as 127.0.0.1:0", *addr)}
	}
	if p, _ := strconv.Atoi(port); p != 0 || host != "127.0.0.1" {
		return usageError{fmt.Sprintf("sandbox: --addr %q: the emulator listens on 127.0.0.1 with one free port per surface; use --addr 127.0.0.1:0", *addr)}
	}
	if *accounts < 1 {
		return usageError{"sandbox: --accounts must be at least 1"}
	}
	sim, err := zohosim.Start(zohosim.Options{Accounts: *accounts, Seed: *seed})
	if err != nil {
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer sim.Close()
	for _, kv := range sim.Env() {
		fmt.Fprintln(e.stdout, kv)
	}
	fmt.Fprintf(e.stderr, "zoho-mcp-proxy sandbox: emulator running (%d accounts, admin API %s); press Ctrl-C to stop\n", *accounts, sim.AdminURL())
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "zoho-mcp-proxy sandbox: stopped")
	return nil
}

// probeTimeout bounds each tier probe of check.
const probeTimeout = 5 * time.Second

func (e env) check(ctx context.Context, args []string) error {
	fs := e.newFlagSet("check", "[--config FILE] [--permissions FILE] [--toolsets T] [--tools N] [--read-only] [--result-text full|summary]")
	cf := newConfigFlags(fs, false)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(cf.flags(), e.getenv)
	if err != nil {
		fmt.Fprintln(e.stdout, config.Finding{Level: config.LevelError, Subject: "config", Message: err.Error()})
		return errors.New("check found 1 error")
	}
	findings := cfg.Findings()
	if cfg.Permissions == "" {
		findings = append(findings, config.Finding{Level: config.LevelOK, Subject: "permissions", Message: "no file: every caller gets read, write, bulk, monitor; HTTP stays on loopback"})
	} else if p, err := loadPolicy(cfg); err != nil {
		findings = append(findings, config.Finding{Level: config.LevelError, Subject: "permissions", Message: err.Error()})
	} else {
		findings = append(findings, config.Finding{Level: config.LevelOK, Subject: "permissions",
			Message: fmt.Sprintf("%s: %d profile(s), default %q, tokens %t", cfg.Permissions, len(p.Profiles()), p.DefaultProfile().Name, p.HasTokens())})
		if cfg.Profile != "" {
			if _, err := stdioProfile(cfg, p); err != nil {
				findings = append(findings, config.Finding{Level: config.LevelError, Subject: "permissions", Message: err.Error()})
			}
		}
	}
	if cfg.Validate() == nil {
		quiet := slog.New(slog.DiscardHandler)
		app, err := app.Build(cfg, app.Options{Logger: quiet, Version: versionString()})
		if err != nil {
			findings = append(findings, config.Finding{Level: config.LevelError, Subject: "wiring", Message: err.Error()})
		} else {
			findings = append(findings, app.Probe(ctx, probeTimeout)...)
			_ = app.Close()
		}
	}
	errs := 0
	for _, f := range findings {
		fmt.Fprintln(e.stdout, f)
		if f.Level == config.LevelError {
			errs++
		}
	}
	if errs > 0 {
		return fmt.Errorf("check found %d error(s); fix the lines marked error above", errs)
	}
	return nil
}

func (e env) demo(ctx context.Context, args []string) error {
	fs := e.newFlagSet("demo", "[--json] [--serve]")
	asJSON := fs.Bool("json", false, "print the tour as JSON instead of a table")
	serve := fs.Bool("serve", false, "after the tour, keep the sandbox and the proxy running, print the status page URL and serve until interrupted")
	if err := parse(fs, args); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // the tour, not the serving
	defer cancel()
	d, err := demo.Start(tctx, demo.Options{})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer d.Close()
	rep := d.Tour(tctx)
	if *serve {
		rep.StatusURL = d.StatusURL()
	}
	if err := demo.Write(e.stdout, rep, *asJSON); err != nil {
		return err
	}
	if *serve {
		// With --json, stdout holds only the report.
		out := e.stdout
		if *asJSON {
			out = e.stderr
		}
		fmt.Fprintf(out, "\nstatus page:  %s\nMCP endpoint: %s (no token needed: loopback only)\nserving the sandbox and the proxy until interrupted (Ctrl-C)\n",
			d.StatusURL(), d.Endpoint())
		<-ctx.Done()
		fmt.Fprintln(e.stderr, "zoho-mcp-proxy demo: stopped")
	}
	if !rep.OK {
		return demo.ErrFailed
	}
	return nil
}

// versionString is the version with the VCS revision when known.
func versionString() string {
	c := commit
	if c == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					c = s.Value[:12]
				}
			}
		}
	}
	if c == "" {
		return version
	}
	return version + "+" + c
}

func (e env) version(args []string) error {
	fs := e.newFlagSet("version", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	c := commit
	if c == "" {
		c = "unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	fmt.Fprintf(e.stdout, "zoho-mcp-proxy %s (commit %s, %s %s/%s)\n", version, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func (e env) login(ctx context.Context, args []string) error {
	fs := e.newFlagSet("login", "[--no-browser] [--config FILE] [--timeout 5m] [--port N]")
	noBrowser := fs.Bool("no-browser", false, "print the URL to open instead of opening a browser (on a remote machine, forward the port: see --port)")
	cfgFile := fs.String("config", "", "YAML config file (env "+config.EnvConfig+")")
	timeout := fs.Duration("timeout", app.DefaultLoginTimeout, "how long to wait for the browser to come back")
	port := fs.Int("port", 0, "loopback port of the redirect listener; 0 = a random free port (fix it to forward it with ssh -L)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *timeout <= 0 {
		return usageError{"login: --timeout must be positive, e.g. 5m"}
	}
	if *port < 0 || *port > 65535 {
		return usageError{fmt.Sprintf("login: --port %d is not a TCP port (0 picks a free one)", *port)}
	}
	var fl config.Flags
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "config" {
			fl.Config = cfgFile
		}
	})
	cfg, err := config.Load(fl, e.getenv)
	if err != nil {
		return err
	}
	open := e.open
	if *noBrowser {
		open = nil
	}
	res, err := app.Login(ctx, cfg, app.LoginOptions{Open: open, Out: e.stderr, Timeout: *timeout, Port: *port})
	if errors.Is(err, app.ErrNoOAuth) {
		fmt.Fprintln(e.stdout, "zoho-mcp-proxy login: nothing to do: "+err.Error())
		return nil
	}
	if err != nil {
		return fmt.Errorf("login: %w", err)
	}
	client := res.ClientID
	if res.Registered {
		client += " (registered now)"
	}
	fmt.Fprintf(e.stdout, "zoho-mcp-proxy login: tier 1 is authorized at %s (client %s, scopes %s). The grant is stored in %s; `zoho-mcp-proxy serve` uses it and keeps it fresh.\n",
		res.Issuer, client, strings.Join(res.Scopes, " "), res.Path)
	if !res.Refreshable {
		fmt.Fprintln(e.stderr, "zoho-mcp-proxy login: warning: the authorization server issued no refresh token, so tier 1 needs a new login when the access token expires")
	}
	return nil
}
