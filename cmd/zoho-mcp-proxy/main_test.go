package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// binary is the proxy built once by TestMain, with stampedVersion stamped
// in as the release build does.
var binary string

const stampedVersion = "v9.9.9"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zoho-mcp-proxy-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "zoho-mcp-proxy")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	// The release's link flags (-s -w, the version stamped); the compile
	// flags stay go build's defaults, which the e2e and conformance builds
	// share, so CI compiles the packages once.
	build := exec.Command("go", "build", "-o", binary, "-ldflags", "-s -w -X main.version="+stampedVersion+" -X main.commit=abc123", ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	// The go commands tests run (go list) keep the user's build cache,
	// which otherwise moves with XDG_CACHE_HOME below.
	if out, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
		_ = os.Setenv("GOCACHE", strings.TrimSpace(string(out)))
	}
	// Commands run against the emulator outside sandbox mode (check, serve
	// with its env) cache tokens on disk: keep them out of the user's cache.
	if err := os.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := 0
	func() {
		defer func() { _ = os.RemoveAll(dir) }()
		// goleak: VerifyTestMain would exit; check by hand so the temp dir goes.
		code = m.Run()
		if code == 0 {
			if err := goleak.Find(
				goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
				goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
				goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
			); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				code = 1
			}
		}
	}()
	os.Exit(code)
}

// runInProcess runs the CLI in this process with the given environment.
func runInProcess(t *testing.T, ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(ctx, args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func simEnv(t *testing.T, opts zohosim.Options) (*zohosim.Sim, map[string]string) {
	t.Helper()
	sim, err := zohosim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	env := map[string]string{}
	for _, kv := range sim.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return sim, env
}

func TestUsageAndVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: "zoho-mcp-proxy dev (commit"},
		{name: "version go", args: []string{"version"}, wantCode: 0, wantStdout: runtime.Version()},
		{name: "help", args: []string{"help"}, wantCode: 0, wantStdout: "Usage:"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: "unknown command \"frobnicate\""},
		{name: "unknown flag", args: []string{"serve", "--nope"}, wantCode: 2, wantStderr: "flag provided but not defined"},
		{name: "default command takes flags", args: []string{"--nope"}, wantCode: 2, wantStderr: "serve:"},
		{name: "stray argument", args: []string{"check", "extra"}, wantCode: 2, wantStderr: "unexpected argument \"extra\""},
		{name: "secrets have no flags", args: []string{"serve", "--client-secret", "x"}, wantCode: 2, wantStderr: "not defined"},
		{name: "demo stray argument", args: []string{"demo", "now"}, wantCode: 2, wantStderr: "unexpected argument"},
		{name: "flag help", args: []string{"serve", "-h"}, wantCode: 0, wantStderr: "--transport"},
		{name: "sandbox fixed port", args: []string{"sandbox", "--addr", "127.0.0.1:9999"}, wantCode: 2, wantStderr: "127.0.0.1:0"},
		{name: "sandbox non-loopback", args: []string{"sandbox", "--addr", "0.0.0.0:0"}, wantCode: 2, wantStderr: "loopback"},
		{name: "sandbox bad accounts", args: []string{"sandbox", "--accounts", "0"}, wantCode: 2, wantStderr: "--accounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errs := runInProcess(t, context.Background(), nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errs)
			}
			if !strings.Contains(out, tt.wantStdout) {
				t.Errorf("stdout %q lacks %q", out, tt.wantStdout)
			}
			if !strings.Contains(errs, tt.wantStderr) {
				t.Errorf("stderr %q lacks %q", errs, tt.wantStderr)
			}
		})
	}
}

func TestVersionLdflags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		out, err := exec.Command(binary, args...).Output()
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if want := "zoho-mcp-proxy " + stampedVersion + " (commit abc123, go"; !strings.HasPrefix(string(out), want) {
			t.Errorf("%v printed %q, want it to start with %q", args, out, want)
		}
	}
}

func TestServeConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		want     []string
	}{
		{name: "nothing configured", args: []string{"serve"}, wantCode: 1, want: []string{"no enabled tier is configured", "--sandbox"}},
		{name: "all problems at once", args: []string{"serve", "--transport", "smoke", "--log-level", "loud"},
			env:      map[string]string{"ZOHO_DC": "mars", "ZOHO_CLIENT_ID": "x", "CIRCUIT_BREAKER_THRESHOLD": "lots"},
			wantCode: 1, want: []string{"transport \"smoke\"", "--log-level", "ZOHO_DC=\"mars\"", "ZOHO_CLIENT_SECRET", "CIRCUIT_BREAKER_THRESHOLD"}},
		{name: "non-loopback without tokens", args: []string{"serve", "--sandbox", "--transport", "http", "--addr", "0.0.0.0:0"},
			wantCode: 1, want: []string{"refusing to listen", "127.0.0.1", "No permissions file is set", "ZOHO_MCP_PROXY_PERMISSIONS=/etc/zoho-mcp-proxy/permissions.yaml"}},
		{name: "unknown profile", args: []string{"serve", "--sandbox", "--profile", "ghost"}, wantCode: 1, want: []string{"profile \"ghost\"", "default"}},
		{name: "missing permissions file", args: []string{"serve", "--sandbox", "--permissions", "/nonexistent/perms.yaml"}, wantCode: 1, want: []string{"permissions file"}},
		{name: "missing config file", args: []string{"serve", "--config", "/nonexistent/c.yaml"}, wantCode: 1, want: []string{"--config"}},
		{name: "unknown toolset and tool", args: []string{"serve", "--sandbox", "--toolsets", "accounts,crm", "--tools", "get_recrod"}, wantCode: 1,
			want: []string{`unknown toolset "crm" (valid: accounts, records, monitor, all)`, `unknown tool "get_recrod" (valid: get_account,`, "describe_module"}},
		{name: "unknown toolset from the environment", args: []string{"serve", "--sandbox"}, env: map[string]string{"ZOHO_MCP_PROXY_TOOLSETS": "monitr"},
			wantCode: 1, want: []string{`unknown toolset "monitr"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, errs := runInProcess(t, context.Background(), tt.env, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit = %d, want %d; stderr: %s", code, tt.wantCode, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	sim, env := simEnv(t, zohosim.Options{Accounts: 20})
	perms := filepath.Join(t.TempDir(), "perms.yaml")
	if err := os.WriteFile(perms, []byte("default_profile: reader\nprofiles:\n  reader: { scopes: [read, monitor] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badPerms := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(badPerms, []byte("profiles:\n  x: { scopes: [fly] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("healthy emulator", func(t *testing.T) {
		code, out, errs := runInProcess(t, context.Background(), env, "check", "--permissions", perms)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		for _, w := range []string{"ok    config: valid", "ok    permissions:", "ok    probe MCP: reachable", "ok    probe BULK: reachable", "ok    probe REST: reachable"} {
			if !strings.Contains(out, w) {
				t.Errorf("check output lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("bad permissions and a bad setting", func(t *testing.T) {
		bad := map[string]string{}
		for k, v := range env {
			bad[k] = v
		}
		bad["ENABLE_FAILOVER"] = "perhaps"
		code, out, _ := runInProcess(t, context.Background(), bad, "check", "--permissions", badPerms)
		if code != 1 {
			t.Errorf("exit = %d, want 1", code)
		}
		for _, w := range []string{"error config: ENABLE_FAILOVER", "error permissions:"} {
			if !strings.Contains(out, w) {
				t.Errorf("check output lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("MCP tier down", func(t *testing.T) {
		sim.SetFault(zohosim.SurfaceMCP, zohosim.Fault{Mode: zohosim.FaultDown})
		defer sim.ClearFaults()
		code, out, _ := runInProcess(t, context.Background(), env, "check")
		if code != 1 || !strings.Contains(out, "error probe MCP: cannot reach Zoho") || !strings.Contains(out, "ok    probe REST") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
		if strings.Contains(out, sim.MCPEndpoint()) {
			t.Errorf("check printed the MCP endpoint with its key:\n%s", out)
		}
	})
	t.Run("not configured is a warning", func(t *testing.T) {
		only := map[string]string{"ZOHO_CLIENT_ID": env["ZOHO_CLIENT_ID"], "ZOHO_CLIENT_SECRET": env["ZOHO_CLIENT_SECRET"],
			"ZOHO_REFRESH_TOKEN": env["ZOHO_REFRESH_TOKEN"], "ZOHO_ACCOUNTS_URL": env["ZOHO_ACCOUNTS_URL"], "ENABLE_TIER2_BULK": "false"}
		code, out, _ := runInProcess(t, context.Background(), only, "check")
		if code != 0 || !strings.Contains(out, "warn  tier MCP: not configured") || !strings.Contains(out, "ok    tier BULK: disabled") {
			t.Errorf("exit %d, output:\n%s", code, out)
		}
	})
}

// startBinary runs the built binary with env (plus PATH/HOME) and returns
// the command, its stdout reader and a stderr buffer.
// lockedBuffer is a goroutine-safe sink for a process's output.
type lockedBuffer = tierstest.Buffer

func baseEnv(extra map[string]string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}

func TestSandboxCommand(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "sandbox", "--accounts", "7", "--seed", "3")
	cmd.Env = baseEnv(nil)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	kv := map[string]string{}
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ToUpper(k) != k {
			t.Errorf("stdout line %q is not KEY=value", line)
		}
		kv[k] = v
		if k == "ZOHO_ORG_ID" {
			break
		}
	}
	for _, k := range []string{"ZOHO_MCP_ENDPOINT", "ZOHO_ACCOUNTS_URL", "ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN"} {
		if kv[k] == "" {
			t.Errorf("sandbox did not print %s", k)
		}
	}
	// The printed settings really point a proxy at a live emulator.
	code, out, _ := runInProcess(t, context.Background(), kv, "check")
	if code != 0 {
		t.Errorf("check against the printed sandbox settings: exit %d\n%s", code, out)
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Errorf("sandbox after SIGINT: %v\nstderr: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "Ctrl-C") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

// rawStdio sends lines to a stdio proxy, closes stdin once every request has
// an answer, and returns stdout's lines.
func rawStdio(t *testing.T, env []string, args []string, lines []string, wantResponses int) (stdout []string, stderr string) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	var eb lockedBuffer
	cmd.Stderr = &eb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		if _, err := io.WriteString(in, l+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	got := 0
	for got < wantResponses && sc.Scan() {
		stdout = append(stdout, sc.Text())
		if strings.Contains(sc.Text(), `"id"`) {
			got++
		}
	}
	_ = in.Close()
	for sc.Scan() {
		stdout = append(stdout, sc.Text())
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("proxy exit: %v\nstderr: %s", err, eb.String())
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("proxy did not exit after stdin closed\nstderr: %s", eb.String())
	}
	return stdout, eb.String()
}

func TestStdioStdoutIsOnlyJSONRPCAndLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	const key = "5ec7e7c0ffee5ec7e7c0ffee5ec7e7aa"
	sim, env := simEnv(t, zohosim.Options{Accounts: 30, MCPKey: key})
	env["ZOHO_MCP_PROXY_LOG_LEVEL"] = "debug"
	id := sim.Store().IDs()[0]
	lines := []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		fmt.Sprintf(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_account","arguments":{"account_id":%q}}}`, id),
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"update_account","arguments":{"account_id":"1","data":{"Account_Name":"UNIQUE-ARG-VALUE-77"}}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"get_tier_health","arguments":{}}}`,
	}
	stdout, stderr := rawStdio(t, baseEnv(env), []string{"serve"}, lines, 5)
	if len(stdout) < 5 {
		t.Fatalf("got %d stdout lines, want ≥ 5:\n%s\nstderr: %s", len(stdout), strings.Join(stdout, "\n"), stderr)
	}
	for _, l := range stdout {
		var msg map[string]any
		if err := json.Unmarshal([]byte(l), &msg); err != nil || msg["jsonrpc"] != "2.0" {
			t.Errorf("stdout line is not JSON-RPC: %q", l)
		}
	}
	all := strings.Join(stdout, "\n")
	if !strings.Contains(all, `"get_account"`) || !strings.Contains(all, `"bulk_update_accounts"`) {
		t.Errorf("tools/list lacks tools:\n%s", all)
	}
	if !strings.Contains(stderr, `"tool":"get_account"`) || !strings.Contains(stderr, `"profile":"default"`) {
		t.Errorf("no call log line on stderr:\n%s", stderr)
	}
	secrets := map[string]string{
		"client secret": env["ZOHO_CLIENT_SECRET"], "refresh token": env["ZOHO_REFRESH_TOKEN"],
		"bulk secret": env["ZOHO_BULK_CLIENT_SECRET"], "bulk refresh token": env["ZOHO_BULK_REFRESH_TOKEN"],
		"MCP key": key, "argument value": "UNIQUE-ARG-VALUE-77",
	}
	for name, s := range secrets {
		if s == "" {
			t.Fatalf("%s empty in the emulator's env", name)
		}
		if strings.Contains(stderr, s) {
			t.Errorf("logs contain the %s %q", name, s)
		}
		if strings.Contains(all, s) && name != "argument value" {
			t.Errorf("stdout contains the %s", name)
		}
	}
}

func TestStdioWithGoSDKAgainstSandbox(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.Command(binary, "serve", "--sandbox")
	cmd.Env = baseEnv(nil)
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	c := sdk.NewClient(&sdk.Implementation{Name: "go-sdk-stdio", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect: %v\nstderr: %s", err, stderr.String())
	}
	defer cs.Close()
	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("start → tools/list in %s", time.Since(start))
	var names []string
	for _, tl := range lt.Tools {
		names = append(names, tl.Name)
	}
	// The default profile has no admin scope; every toolset is on.
	if len(names) != 19 || strings.Contains(strings.Join(names, ","), "reset_circuit_breakers") {
		t.Errorf("tools = %v, want the nineteen non-admin tools", names)
	}
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_accounts", Arguments: map[string]any{"limit": 2}})
	if err != nil || res.IsError {
		t.Fatalf("get_accounts: %v %+v", err, res)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var page struct {
		Accounts []map[string]any `json:"accounts"`
	}
	if err := json.Unmarshal(b, &page); err != nil || len(page.Accounts) != 2 {
		t.Fatalf("get_accounts structured content = %s", b)
	}
	id, _ := page.Accounts[0]["id"].(string)
	res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": id}})
	if err != nil || res.IsError {
		t.Fatalf("get_account: %v %+v", err, res)
	}
	if res.Meta == nil || res.Meta["zoho-mcp-proxy/route"] == nil {
		t.Errorf("result lacks routing provenance: %+v", res.Meta)
	}
}

func TestSignalFinishesInFlightCall(t *testing.T) {
	t.Parallel()
	sim, env := simEnv(t, zohosim.Options{Accounts: 10})
	id := sim.Store().IDs()[0]
	env["ENABLE_TIER1_MCP"] = "false"
	env["ENABLE_TIER2_BULK"] = "false"
	// A gate between the proxy and the emulator's REST surface says when
	// the call reaches Zoho, and holds it there until the shutdown has
	// begun: the call is in flight when the signal arrives, whatever the
	// machine's load.
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	target, err := url.Parse(sim.RESTURL())
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(target)
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/crm/v8/Accounts/") {
			select {
			case arrived <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		r.Host = target.Host
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(gate.Close)
	env["ZOHO_REST_API_DOMAIN"] = gate.URL

	cmd := exec.Command(binary, "serve")
	cmd.Env = baseEnv(env)
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	errPipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// The proxy's log says when the shutdown has begun.
	var eb lockedBuffer
	shutting, stderrDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stderrDone)
		var once sync.Once
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			_, _ = eb.Write(append(sc.Bytes(), '\n'))
			if strings.Contains(sc.Text(), "shutting down") {
				once.Do(func() { close(shutting) })
			}
		}
	}()
	waitFor := func(ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s never happened; stderr %s", what, eb.String())
		}
	}
	sc := bufio.NewScanner(out)
	send := func(s string) {
		if _, err := io.WriteString(in, s+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`)
	if !sc.Scan() {
		t.Fatalf("no initialize answer; stderr %s", eb.String())
	}
	send(fmt.Sprintf(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_account","arguments":{"account_id":%q}}}`, id))
	waitFor(arrived, "the call reaching the emulator")
	_ = cmd.Process.Signal(syscall.SIGTERM)
	waitFor(shutting, "the shutdown")
	releaseOnce.Do(func() { close(release) })
	if !sc.Scan() {
		t.Fatalf("no answer to the in-flight call; stderr %s", eb.String())
	}
	var resp struct {
		ID     int `json:"id"`
		Result struct {
			IsError bool `json:"isError"`
		} `json:"result"`
	}
	if err := json.Unmarshal(sc.Bytes(), &resp); err != nil || resp.ID != 2 || resp.Result.IsError {
		t.Errorf("in-flight call answer = %s", sc.Text())
	}
	<-stderrDone // the process has exited and its log is read
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v\nstderr: %s", err, eb.String())
	}
}
