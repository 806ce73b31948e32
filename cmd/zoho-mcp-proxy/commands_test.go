package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHelpListsEveryCommandOfTheTable(t *testing.T) {
	t.Parallel()
	table := commandTable()
	if len(table) < 7 {
		t.Fatalf("command table has %d rows; serve, sandbox, demo, check, healthcheck, version and help at least", len(table))
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-help"}, {"help"}, {"help", "help"}, {"help", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			code, out, errs := runInProcess(t, context.Background(), nil, args...)
			if code != exitOK || errs != "" {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			for _, c := range table {
				if strings.TrimSpace(c.summary) == "" || strings.Contains(c.summary, "\n") {
					t.Errorf("command %s: summary %q must be one non-empty line", c.name, c.summary)
				}
				line := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.name) + ` +` + regexp.QuoteMeta(c.summary) + `$`)
				if n := len(line.FindAllString(out, -1)); n != 1 {
					t.Errorf("help shows %d lines for %s, want 1:\n%s", n, c.name, out)
				}
			}
		})
	}
}

func TestEveryCommandOfTheTableRuns(t *testing.T) {
	t.Parallel()
	// -h proves each row is wired to a command with its own flags: it
	// prints them and exits 0 without doing anything.
	for _, c := range commandTable() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, out, errs := runInProcess(t, context.Background(), nil, c.name, "-h")
			if code != exitOK {
				t.Fatalf("%s -h: exit %d\nstdout %s\nstderr %s", c.name, code, out, errs)
			}
			if c.name != "help" && !strings.Contains(errs, "Usage: zoho-mcp-proxy "+c.name) {
				t.Errorf("%s -h printed no usage line:\n%s", c.name, errs)
			}
			code, _, errs = runInProcess(t, context.Background(), nil, "help", c.name)
			if code != exitOK || (c.name != "help" && !strings.Contains(errs, "Usage: zoho-mcp-proxy "+c.name)) {
				t.Errorf("help %s: exit %d, stderr %q", c.name, code, errs)
			}
		})
	}
}

func TestUnknownCommandNamesTheTable(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"frobnicate"}, {"help", "frobnicate"}} {
		code, _, errs := runInProcess(t, context.Background(), nil, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		for _, c := range commandTable() {
			if !strings.Contains(errs, c.name) {
				t.Errorf("%v: the message does not name %s: %s", args, c.name, errs)
			}
		}
	}
	if code, _, errs := runInProcess(t, context.Background(), nil, "help", "serve", "check"); code != exitUsage || !strings.Contains(errs, "at most one") {
		t.Errorf("help with two commands: exit %d, %s", code, errs)
	}
}

func TestSplitCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		wantName string
		wantRest []string
	}{
		{name: "nothing", args: nil, wantName: "serve"},
		{name: "flags only", args: []string{"--sandbox"}, wantName: "serve", wantRest: []string{"--sandbox"}},
		{name: "command", args: []string{"check", "--config", "c.yaml"}, wantName: "check", wantRest: []string{"--config", "c.yaml"}},
		{name: "--version", args: []string{"--version"}, wantName: "version", wantRest: []string{}},
		{name: "--help", args: []string{"--help"}, wantName: "help", wantRest: []string{}},
		{name: "-h", args: []string{"-h"}, wantName: "help", wantRest: []string{}},
		// A flag named after a command is still the default command's flag.
		{name: "serve flag", args: []string{"--transport", "version"}, wantName: "serve", wantRest: []string{"--transport", "version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, rest := splitCommand(tt.args)
			if name != tt.wantName || strings.Join(rest, " ") != strings.Join(tt.wantRest, " ") {
				t.Errorf("splitCommand(%q) = %q %q, want %q %q", tt.args, name, rest, tt.wantName, tt.wantRest)
			}
		})
	}
}

func TestNonLoopbackBindWithAFileWithoutTokens(t *testing.T) {
	t.Parallel()
	perms := filepath.Join(t.TempDir(), "perms.yaml")
	if err := os.WriteFile(perms, []byte("default_profile: reader\nprofiles:\n  reader: { scopes: [read] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runInProcess(t, context.Background(), map[string]string{"ZOHO_MCP_PROXY_PERMISSIONS": perms},
		"serve", "--sandbox", "--transport", "http", "--addr", "0.0.0.0:0")
	// The file is there: the fix is tokens in it, not a file.
	if code != exitError || !strings.Contains(errs, "add tokens to the permissions file") || strings.Contains(errs, "No permissions file is set") {
		t.Errorf("exit %d, stderr: %s", code, errs)
	}
}

func TestHealthcheck(t *testing.T) {
	t.Parallel()
	status := func(code int) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code == http.StatusFound {
				http.Redirect(w, r, "/elsewhere", code)
				return
			}
			w.WriteHeader(code)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	ok, down, moved := status(http.StatusOK), status(http.StatusServiceUnavailable), status(http.StatusFound)

	// A server that accepts and never answers.
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })

	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/healthz"
	_ = ln.Close()

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "200 is healthy", args: []string{"--url", ok.URL + "/healthz"}, wantCode: exitOK, wantStdout: "healthy: GET " + ok.URL + "/healthz answered 200 OK"},
		{name: "503 is unhealthy", args: []string{"--url", down.URL + "/healthz"}, wantCode: exitError, wantStderr: "answered 503 Service Unavailable, want 200 OK"},
		{name: "a redirect is not followed", args: []string{"--url", moved.URL + "/healthz"}, wantCode: exitError, wantStderr: "answered 302 Found"},
		{name: "connection refused", args: []string{"--url", closed}, wantCode: exitError, wantStderr: "connection refused"},
		{name: "no answer in time", args: []string{"--url", hung.URL + "/healthz", "--timeout", "200ms"}, wantCode: exitError, wantStderr: "got no answer within 200ms"},
		{name: "not a URL", args: []string{"--url", "127.0.0.1:8765/healthz"}, wantCode: exitUsage, wantStderr: "not an http(s) URL"},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantCode: exitUsage, wantStderr: "--timeout must be positive"},
		{name: "stray argument", args: []string{"now"}, wantCode: exitUsage, wantStderr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errs := runInProcess(t, context.Background(), nil, append([]string{"healthcheck"}, tt.args...)...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantStdout) || !strings.Contains(errs, tt.wantStderr) {
				t.Errorf("exit %d (want %d)\nstdout %q (want %q)\nstderr %q (want %q)", code, tt.wantCode, out, tt.wantStdout, errs, tt.wantStderr)
			}
		})
	}
	t.Run("host header", func(t *testing.T) {
		t.Parallel()
		hosts := make(chan string, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hosts <- r.Host }))
		defer srv.Close()
		if code, _, errs := runInProcess(t, context.Background(), nil, "healthcheck", "--url", srv.URL+"/healthz", "--host", "crm.example.com"); code != exitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if seen := <-hosts; seen != "crm.example.com" {
			t.Errorf("Host = %q, want crm.example.com", seen)
		}
	})
}

// startHTTPServer runs the built binary as `serve --transport http` on a
// free loopback port with the sandbox and extra arguments, and returns its
// address and a function that stops it with SIGTERM and waits.
func startHTTPServer(t *testing.T, extra ...string) (addr string, stop func()) {
	t.Helper()
	args := append([]string{"serve", "--transport", "http", "--addr", "127.0.0.1:0", "--sandbox", "--log-format", "json"}, extra...)
	srv := exec.Command(binary, args...)
	srv.Env = baseEnv(nil)
	var stderr lockedBuffer
	srv.Stderr = &stderr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = srv.Process.Kill()
			<-done
			t.Errorf("the server did not stop after SIGTERM:\n%s", stderr.String())
		}
	}
	t.Cleanup(stop)
	addrRE := regexp.MustCompile(`"msg":"serving MCP over HTTP".*"addr":"([^"]+)"`)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			return m[1], stop
		}
		select {
		case <-done:
			stopped = true
			t.Fatalf("the server exited:\n%s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never logged its address:\n%s", stderr.String())
		}
	}
}

// TestHealthcheckAgainstTheRealServer is the container's HEALTHCHECK: the
// built binary asks a running `serve --transport http` for /healthz, then
// again after that server stopped.
func TestHealthcheckAgainstTheRealServer(t *testing.T) {
	t.Parallel()
	addr, stop := startHTTPServer(t)
	url := "http://" + addr + "/healthz"
	out, err := exec.Command(binary, "healthcheck", "--url", url).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "healthy") {
		t.Fatalf("healthcheck of a running server: %v\n%s", err, out)
	}
	stop()
	out, err = exec.Command(binary, "healthcheck", "--url", url).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitError || !strings.Contains(string(out), "unhealthy") {
		t.Errorf("healthcheck of a stopped server: %v\n%s", err, out)
	}
}
