package mcp

import (
	"net/url"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// FuzzFindBearer: any WWW-Authenticate value is read without a panic, and a
// challenge is only ever taken for Bearer.
func FuzzFindBearer(f *testing.F) {
	for _, s := range []string{
		`Bearer resource_metadata="https://x.zohomcp.com/.well-known/oauth-protected-resource/mcp/k/message", scope="ZohoMCP.tool.execute"`,
		`Bearer error="invalid_token", error_description="the access token has expired", resource_metadata="http://127.0.0.1:1/x", scope="a b"`,
		`Bearer error="insufficient_scope", scope="ZohoMCP.tool.execute"`,
		`Basic realm="x", Bearer realm="y"`,
		`Basic realm="zohosim-mcp"`,
		`Bearer`,
		`bearer scope=unquoted`,
		`Bearer realm="unterminated`,
		`"Bearer"`,
		`Bearer a="\"q\"", b=,`,
		``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		ch, ok := findBearer([]string{h})
		if ok && ch.Scheme != "bearer" {
			t.Fatalf("took a %q challenge for Bearer", ch.Scheme)
		}
		if ok && !strings.Contains(strings.ToLower(h), "bearer") {
			t.Fatalf("found a Bearer challenge in %q", h)
		}
	})
}

// FuzzLoginCallback: whatever comes back to the loopback callback, a code
// is only accepted with this login's state and, when the answer names one,
// this server's issuer; and it is never accepted alongside an error.
func FuzzLoginCallback(f *testing.F) {
	const state, issuer = "st-Zq9", "https://mcp.zoho.eu/baas/mcp/v1/oauth/abc/700"
	for _, s := range []string{
		"code=c1&state=st-Zq9&iss=" + url.QueryEscape(issuer),
		"code=c1&state=st-Zq9",
		"code=c1&state=st-Zq9&iss=https%3A%2F%2Fevil.example",
		"code=c1&state=wrong&iss=" + url.QueryEscape(issuer),
		"error=access_denied&state=st-Zq9&iss=" + url.QueryEscape(issuer),
		"code=c1&code=c2&state=st-Zq9&state=st-Zq9",
		"state=st-Zq9",
		"%zz",
		"",
	} {
		f.Add(s, true)
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, raw string, issAdvertised bool) {
		l := &login{red: newRedactor("https://x-1.zohomcp.eu/mcp/" + testKey + "/message")}
		q, _ := url.ParseQuery(raw)
		code, err := l.check(q, state, &oauthex.AuthServerMeta{Issuer: issuer, AuthorizationResponseIssParameterSupported: issAdvertised})
		if err != nil {
			if code != "" {
				t.Fatal("a code came back with an error")
			}
			return
		}
		iss := q.Get("iss")
		if code == "" || q.Get("state") != state || q.Get("error") != "" ||
			(iss != "" || issAdvertised) && strings.TrimSuffix(iss, "/") != issuer {
			t.Fatalf("accepted %q (code %q)", raw, code)
		}
	})
}
