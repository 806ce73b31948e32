package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// FuzzSecurity throws arbitrary Host, Origin and Authorization values at the
// front door: it never panics, and whatever reaches the handler carries a
// loopback Host, an allowed or absent Origin and a valid token's profile
// (without write for a page whose Origin is not listed).
func FuzzSecurity(f *testing.F) {
	f.Add("127.0.0.1:8765", "", "Bearer "+readerToken)
	f.Add("localhost", "http://localhost:6274", "Bearer "+writerToken)
	f.Add("[::1]:1", "https://app.example.com", "bearer "+readerToken)
	f.Add("evil.example", "", "Bearer "+readerToken)
	f.Add("127.0.0.1", "null", "Bearer x")
	f.Add("127.0.0.1.evil.example", "http://127.0.0.1.evil.example", "Bearer  "+readerToken+" ")
	f.Add("LOCALHOST:1", "HTTP://LOCALHOST:1", "BEARER "+writerToken)
	f.Add("127.0.0.1", "http://[::1", "Bearer")
	policy, err := permissions.Parse([]byte(`
default_profile: reader
profiles:
  reader: { scopes: [read] }
  writer: { scopes: [read, write] }
tokens:
  - { profile: reader, sha256: "` + sum(readerToken) + `" }
  - { profile: writer, sha256: "` + sum(writerToken) + `" }
`))
	if err != nil {
		f.Fatal(err)
	}
	sec := Security{Loopback: true, Policy: policy, AllowedOrigins: []string{"https://app.example.com"}}
	f.Fuzz(func(t *testing.T, host, origin, auth string) {
		var got *permissions.Profile
		reached := false
		h := sec.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached = true
			got = permissions.ProfileFrom(r.Context())
		}))
		req := httptest.NewRequestWithContext(context.Background(), http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader("{}"))
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !reached {
			switch rec.Code {
			case http.StatusForbidden, http.StatusUnauthorized:
			default:
				t.Fatalf("refused with %d", rec.Code)
			}
			if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
			return
		}
		if !isLoopbackHost(host) {
			t.Fatalf("foreign Host %q reached the handler", host)
		}
		if origin != "" && !sec.originAllowed(origin) {
			t.Fatalf("Origin %q reached the handler", origin)
		}
		tok, ok := bearer(auth)
		if !ok || got == nil {
			t.Fatalf("no profile for Authorization %q", auth)
		}
		want, _ := policy.ProfileForToken(tok)
		if origin != "" && !containsFold(sec.AllowedOrigins, origin) {
			// A page on an origin not listed gets no write tools.
			if got.Name != want.Name || slices.Contains(got.Scopes, permissions.ScopeWrite) || !slices.Contains(got.Scopes, permissions.ScopeRead) {
				t.Fatalf("profile %v for token %q from Origin %q, want %v without write", got, tok, origin, want)
			}
			return
		}
		if want != got {
			t.Fatalf("profile %v for token %q, want %v", got, tok, want)
		}
	})
}
