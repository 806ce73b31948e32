package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// fakeBrowser follows the URL `login` prints or opens, one redirect at a
// time: the printed URL must forward to the authorization server, and the
// authorization server must send it back to login's loopback callback, which
// it only then follows (after tamper, the test's attack or clock move). It
// returns the callback page's status, or an error for a hop that was wrong.
func fakeBrowser(start string, tamper func(*url.URL)) (int, error) {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	hop := func(u string) (*http.Response, error) {
		resp, err := hc.Get(u)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, nil
	}
	local, err := url.Parse(start)
	if err != nil || local.Hostname() != "127.0.0.1" {
		return 0, &url.Error{Op: "open", URL: start, Err: io.ErrUnexpectedEOF}
	}
	resp, err := hop(start)
	if err != nil {
		return 0, err
	}
	authz, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || authz.Host == local.Host {
		return 0, &url.Error{Op: "forward", URL: start, Err: io.ErrUnexpectedEOF}
	}
	if resp, err = hop(authz.String()); err != nil {
		return 0, err
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Host != local.Host || back.Path != "/callback" {
		return 0, &url.Error{Op: "consent", URL: resp.Header.Get("Location"), Err: io.ErrUnexpectedEOF}
	}
	if tamper != nil {
		tamper(back)
	}
	if resp, err = hop(back.String()); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// loginSim starts an emulator in on-demand mode on an injected clock and
// returns the environment that points `login` at it, with a private cache.
func loginSim(t *testing.T) (*zohosim.Sim, *tierstest.Clock, map[string]string) {
	t.Helper()
	clk := tierstest.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	sim, env := simEnv(t, zohosim.Options{Accounts: 20, MCPAuth: zohosim.MCPAuthOnDemand, Now: clk.Now})
	env["ZOHO_MCP_PROXY_CACHE_DIR"] = t.TempDir()
	return sim, clk, env
}

// secretsIn returns the first secret of sim found in text: the endpoint key
// or anything shaped like one of its tokens or codes.
var zohoTokenRE = regexp.MustCompile(`1000\.[0-9a-f]{32}\.[0-9a-f]{32}`)

func secretIn(sim *zohosim.Sim, text string) string {
	key := strings.TrimSuffix(strings.TrimPrefix(sim.MCPEndpoint()[strings.Index(sim.MCPEndpoint(), "/mcp/"):], "/mcp/"), "/message")
	if strings.Contains(text, key) {
		return "the endpoint key"
	}
	return zohoTokenRE.FindString(text)
}

func TestLoginCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		setup    func(*zohosim.Sim)
		tamper   func(clk *tierstest.Clock, cb *url.URL)
		page     int
		wantCode int
		want     string // in stdout on success, in stderr on failure
	}{
		{name: "success", page: 200, wantCode: 0, want: "tier 1 is authorized"},
		{name: "consent denied", setup: func(s *zohosim.Sim) { s.DenyNextMCPConsent() }, page: 400, wantCode: 1, want: "consent was denied"},
		{name: "wrong state", tamper: func(_ *tierstest.Clock, cb *url.URL) {
			q := cb.Query()
			q.Set("state", "forged")
			cb.RawQuery = q.Encode()
		}, page: 400, wantCode: 1, want: "wrong or missing state"},
		{name: "expired code", tamper: func(clk *tierstest.Clock, _ *url.URL) { clk.Advance(2 * time.Minute) }, page: 400, wantCode: 1, want: "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sim, clk, vars := loginSim(t)
			if tt.setup != nil {
				tt.setup(sim)
			}
			var out, errb lockedBuffer
			pages := make(chan int, 1)
			e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return vars[k] },
				open: func(u string) error {
					go func() {
						st, err := fakeBrowser(u, func(cb *url.URL) {
							if tt.tamper != nil {
								tt.tamper(clk, cb)
							}
						})
						if err != nil {
							t.Error(err)
						}
						pages <- st
					}()
					return nil
				}}
			code := e.run(context.Background(), []string{"login", "--timeout", "30s"})
			if st := <-pages; st != tt.page {
				t.Errorf("callback page %d, want %d", st, tt.page)
			}
			text := out.String()
			if code != 0 {
				text = errb.String()
			}
			if code != tt.wantCode || !strings.Contains(text, tt.want) {
				t.Fatalf("login = %d, want %d with %q\nstdout: %s\nstderr: %s", code, tt.wantCode, tt.want, out.String(), errb.String())
			}
			if s := secretIn(sim, out.String()+errb.String()); s != "" {
				t.Errorf("the output shows %s:\n%s%s", s, out.String(), errb.String())
			}
			entries, _ := os.ReadDir(vars["ZOHO_MCP_PROXY_CACHE_DIR"])
			stored := 0
			for _, en := range entries {
				if strings.HasPrefix(en.Name(), "mcp-grant-") && strings.HasSuffix(en.Name(), ".json") {
					stored++
					if !strings.Contains(out.String(), en.Name()) {
						t.Errorf("the success line does not say where the grant is: %s", out.String())
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[code == 0]; stored != want {
				t.Errorf("grants stored: %d, want %d", stored, want)
			}
		})
	}
}

// TestLoginNoBrowser: with --no-browser nothing is opened; the URL is
// printed on stderr, and following it (as the user does, in a browser on
// their machine with the port forwarded) completes the login.
func TestLoginNoBrowser(t *testing.T) {
	t.Parallel()
	sim, _, vars := loginSim(t)
	pr, pw := io.Pipe()
	var out lockedBuffer
	var errb lockedBuffer
	opened := false
	e := env{stdin: strings.NewReader(""), stdout: &out, stderr: pw, getenv: func(k string) string { return vars[k] },
		open: func(string) error { opened = true; return nil }}
	done := make(chan int, 1)
	go func() {
		done <- e.run(context.Background(), []string{"login", "--no-browser", "--timeout", "30s"})
		pw.Close()
	}()
	urlRE := regexp.MustCompile(`^\s+(http://127\.0\.0\.1:\d+/)$`) // the line that is only the URL
	sc := bufio.NewScanner(pr)
	browsed := make(chan int, 1)
	for sc.Scan() {
		line := sc.Text()
		errb.Write([]byte(line + "\n"))
		if m := urlRE.FindStringSubmatch(line); m != nil {
			u := m[1]
			go func() {
				st, err := fakeBrowser(u, nil)
				if err != nil {
					t.Error(err)
				}
				browsed <- st
			}()
		}
	}
	if code := <-done; code != 0 || opened {
		t.Fatalf("login --no-browser = %d (opened a browser: %v)\n%s\n%s", code, opened, out.String(), errb.String())
	}
	if st := <-browsed; st != 200 {
		t.Fatalf("callback page %d", st)
	}
	if !strings.Contains(out.String(), "tier 1 is authorized") || secretIn(sim, out.String()+errb.String()) != "" {
		t.Fatalf("output:\n%s\n%s", out.String(), errb.String())
	}
}

// TestLoginCommandErrors: usage mistakes exit 2, a missing endpoint exits 1
// naming the setting, an endpoint that needs no login exits 0 saying so.
func TestLoginCommandErrors(t *testing.T) {
	t.Parallel()
	_, keyEnv := simEnv(t, zohosim.Options{Accounts: 5})
	keyEnv["ZOHO_MCP_PROXY_CACHE_DIR"] = t.TempDir()
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{name: "stray argument", args: []string{"login", "now"}, wantCode: 2, stderr: "unexpected argument"},
		{name: "bad timeout", args: []string{"login", "--timeout", "0s"}, wantCode: 2, stderr: "--timeout must be positive"},
		{name: "bad port", args: []string{"login", "--port", "70000"}, wantCode: 2, stderr: "not a TCP port"},
		{name: "no endpoint", env: map[string]string{"ZOHO_MCP_PROXY_CACHE_DIR": t.TempDir()}, args: []string{"login", "--no-browser"}, wantCode: 1, stderr: "ZOHO_MCP_ENDPOINT is not set"},
		{name: "secret without id", env: map[string]string{"ZOHO_MCP_ENDPOINT": "https://x-1.zohomcp.com/mcp/k/message", "ZOHO_MCP_CLIENT_SECRET": "s3cr3t-value"},
			args: []string{"login", "--no-browser"}, wantCode: 1, stderr: "without ZOHO_MCP_CLIENT_ID"},
		{name: "connection mode", env: keyEnv, args: []string{"login", "--no-browser"}, wantCode: 0, stdout: "no login is needed"},
		{name: "help", args: []string{"login", "-h"}, wantCode: 0, stderr: "--no-browser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errb lockedBuffer
			e := env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return tt.env[k] },
				open: func(string) error { t.Error("a browser was opened"); return nil }}
			code := e.run(context.Background(), tt.args)
			if code != tt.wantCode || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
				t.Fatalf("%v = %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.wantCode, out.String(), errb.String())
			}
			if strings.Contains(out.String()+errb.String(), "s3cr3t-value") {
				t.Fatal("a secret was printed")
			}
		})
	}
}

// TestCheckNeedsLogin: `check` against an on-demand endpoint says that tier
// 1 needs a login (an error finding naming the command) until one is done,
// then probes tier 1 with the stored grant.
func TestCheckNeedsLogin(t *testing.T) {
	t.Parallel()
	sim, _, vars := loginSim(t)
	code, out, _ := runInProcess(t, context.Background(), vars, "check")
	if code != 1 || !strings.Contains(out, "error probe MCP: tier 1 needs `zoho-mcp-proxy login`") || !strings.Contains(out, "ok    probe REST") {
		t.Fatalf("check before login: exit %d\n%s", code, out)
	}
	var lout, lerr lockedBuffer
	e := env{stdin: strings.NewReader(""), stdout: &lout, stderr: &lerr, getenv: func(k string) string { return vars[k] },
		open: func(u string) error {
			go func() {
				if _, err := fakeBrowser(u, nil); err != nil {
					t.Error(err)
				}
			}()
			return nil
		}}
	if code := e.run(context.Background(), []string{"login"}); code != 0 {
		t.Fatalf("login: %d\n%s", code, lerr.String())
	}
	code, out, _ = runInProcess(t, context.Background(), vars, "check")
	if code != 0 || !strings.Contains(out, "ok    probe MCP: reachable") {
		t.Fatalf("check after login: exit %d\n%s", code, out)
	}
	if s := secretIn(sim, out); s != "" {
		t.Fatalf("check shows %s:\n%s", s, out)
	}
}
