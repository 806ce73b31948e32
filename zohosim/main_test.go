package zohosim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is an injectable clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// startSim starts an emulator that the test closes.
func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// reply is an HTTP answer as the tests inspect it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// testClient does not keep idle connections, so goleak sees no stray
// transport goroutines once the emulator closes.
var testClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// call performs one request; a transport error fails the test.
func call(t testing.TB, method, rawURL, token, body string, hdr ...string) reply {
	t.Helper()
	r, err := tryCall(context.Background(), method, rawURL, token, body, hdr...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	return r
}

func tryCall(ctx context.Context, method, rawURL, token, body string, hdr ...string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return reply{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Zoho-oauthtoken "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := testClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// refreshGrant asks the token endpoint for an access token with cred.
func refreshGrant(t testing.TB, s *Sim, cred Credential) reply {
	t.Helper()
	v := url.Values{"grant_type": {"refresh_token"}, "client_id": {cred.ClientID},
		"client_secret": {cred.ClientSecret}, "refresh_token": {cred.RefreshToken}}
	return call(t, http.MethodPost, s.AccountsURL()+"/oauth/v2/token?"+v.Encode(), "", "")
}

// mintToken refreshes cred and returns the access token.
func mintToken(t testing.TB, s *Sim, cred Credential) string {
	t.Helper()
	r := refreshGrant(t, s, cred)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(r.body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	return tr.AccessToken
}

// decode parses JSON into generic values (numbers as float64).
func decode(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v: %q", err, b)
	}
	return v
}

// assertJSON fails unless got and want are the same JSON value.
func assertJSON(t testing.TB, got []byte, want string) {
	t.Helper()
	g, w := decode(t, got), decode(t, []byte(want))
	if !reflect.DeepEqual(g, w) {
		var gb, wb bytes.Buffer
		_ = json.Indent(&gb, got, "", " ")
		_ = json.Indent(&wb, []byte(want), "", " ")
		t.Fatalf("JSON mismatch\n got: %s\nwant: %s", gb.String(), wb.String())
	}
}

// assertReply checks the status and, when want is not "", the exact JSON body.
func assertReply(t testing.TB, r reply, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if want == "" {
		if len(r.body) != 0 && status == http.StatusNoContent {
			t.Fatalf("204 with body %q", r.body)
		}
		return
	}
	assertJSON(t, r.body, want)
}

// env returns a started emulator with a fake clock and a REST access token.
type env struct {
	s     *Sim
	clock *fakeClock
	tok   string
}

func newEnv(t testing.TB, opts Options) env {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	s := startSim(t, opts)
	return env{s: s, clock: c, tok: mintToken(t, s, s.RESTCredential())}
}

func (e env) get(t testing.TB, path string) reply {
	t.Helper()
	return call(t, http.MethodGet, e.s.RESTURL()+path, e.tok, "")
}

func (e env) put(t testing.TB, path, body string, hdr ...string) reply {
	t.Helper()
	return call(t, http.MethodPut, e.s.RESTURL()+path, e.tok, body, hdr...)
}

// id returns seeded record i's id.
func id(i int) string { return strconv.FormatInt(int64(idBase+i), 10) }
