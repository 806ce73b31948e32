package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// TestLoginThenServeOnDemand is tier 1's "Authorization on Demand" end to
// end with the real binary and the shipped defaults: `login --no-browser`
// against the emulator in on-demand mode (DCR, PKCE, consent in a fake
// browser that follows the printed URL), then `serve` over stdio with the
// official Go SDK client: get_account is served by tier 1 with the stored
// grant; the emulator then expires every access token mid-run, and the next
// call is still served by tier 1 after one refresh, whose rotated refresh
// token is stored. No output of either command shows a secret.
func TestLoginThenServeOnDemand(t *testing.T) {
	t.Parallel()
	const key = "e2eLoginKey0123456789abcdef012345"
	sim, err := zohosim.Start(zohosim.Options{Accounts: 30, MCPKey: key, MCPAuth: zohosim.MCPAuthOnDemand})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	cache := t.TempDir()
	env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ZOHO_MCP_PROXY_CACHE_DIR=" + cache}, sim.Env()...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// 1. login --no-browser: read the URL from stderr, browse it.
	login := exec.CommandContext(ctx, binary, "login", "--no-browser", "--timeout", "45s")
	login.Env = env
	var loginOut bytes.Buffer
	login.Stdout = &loginOut
	stderr, err := login.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := login.Start(); err != nil {
		t.Fatal(err)
	}
	var loginErr bytes.Buffer
	browsed := make(chan error, 1)
	urlLine := regexp.MustCompile(`^\s+(http://127\.0\.0\.1:\d+/)$`)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		loginErr.WriteString(sc.Text() + "\n")
		if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
			go func() { browsed <- browse(m[1]) }()
		}
	}
	if err := login.Wait(); err != nil {
		t.Fatalf("login: %v\n%s%s", err, loginOut.String(), loginErr.String())
	}
	if err := <-browsed; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loginOut.String(), "tier 1 is authorized") {
		t.Fatalf("login output:\n%s", loginOut.String())
	}
	grants, _ := filepath.Glob(filepath.Join(cache, "mcp-grant-*.json"))
	if len(grants) != 1 {
		t.Fatalf("grant files: %v", grants)
	}
	if fi, err := os.Stat(grants[0]); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("grant file: %v %v", fi, err)
	}
	before := refreshTokenIn(t, grants[0])

	// 2. serve over stdio: tier 1 serves with the grant.
	var serveErr bytes.Buffer
	serve := exec.Command(binary, "serve")
	serve.Env, serve.Stderr = env, &serveErr
	c := sdk.NewClient(&sdk.Implementation{Name: "e2e-login", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.CommandTransport{Command: serve}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	ids := sim.Store().IDs()
	getAccount := func(id string) {
		t.Helper()
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_account", Arguments: map[string]any{"account_id": id}})
		if err != nil || res.IsError {
			t.Fatalf("get_account: %v %+v", err, res)
		}
		if route, _ := res.Meta["zoho-mcp-proxy/route"].(map[string]any); route["tier"] != "MCP" {
			t.Fatalf("route = %v, want tier MCP", res.Meta["zoho-mcp-proxy/route"])
		}
	}
	getAccount(ids[1])
	if st := sim.MCPAuthStats(); st.RefreshGrants != 0 || st.Unauthorized != 1 {
		t.Fatalf("after the first call: %+v (want only login's 401)", st)
	}

	// 3. The tokens expire mid-run: one 401, one refresh, still tier 1.
	sim.ExpireMCPAccessTokens()
	getAccount(ids[2])
	getAccount(ids[3])
	if st := sim.MCPAuthStats(); st.RefreshGrants != 1 || st.Unauthorized != 2 || st.FailedGrants != 0 {
		t.Fatalf("after expiry: %+v", st)
	}
	if after := refreshTokenIn(t, grants[0]); after == before || after == "" {
		t.Fatal("the rotated refresh token was not stored")
	}
	cs.Close()

	all := loginOut.String() + loginErr.String() + serveErr.String()
	if strings.Contains(all, key) || zohoTokenRE.MatchString(all) {
		t.Fatalf("a secret reached the output:\n%s", all)
	}
}

// zohoTokenRE matches the emulator's tokens and codes.
var zohoTokenRE = regexp.MustCompile(`1000\.[0-9a-f]{32}\.[0-9a-f]{32}`)

// refreshTokenIn reads the refresh token of a stored grant.
func refreshTokenIn(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g.RefreshToken
}

// browse is the fake browser: it follows start one redirect at a time, and
// follows the authorization server's redirect only once it is the loopback
// callback of the listener start named.
func browse(start string) error {
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
	local, _ := url.Parse(start)
	resp, err := hop(start)
	if err != nil {
		return err
	}
	authz := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || strings.Contains(authz, local.Host) {
		return &url.Error{Op: "forward", URL: start, Err: io.ErrUnexpectedEOF}
	}
	if resp, err = hop(authz); err != nil {
		return err
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Host != local.Host || back.Path != "/callback" {
		return &url.Error{Op: "consent", URL: resp.Header.Get("Location"), Err: io.ErrUnexpectedEOF}
	}
	if resp, err = hop(back.String()); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &url.Error{Op: "callback", URL: "/callback", Err: io.ErrUnexpectedEOF}
	}
	return nil
}
