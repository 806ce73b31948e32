package zohosim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

func FuzzPageToken(f *testing.F) {
	c := newPageTokenCodec()
	f.Add(c.encode(pageToken{offset: 200, sortBy: "id", desc: true, expiry: time.Unix(1_800_000_000, 0)}))
	f.Add(c.encode(pageToken{offset: 99_800, sortBy: "Modified_Time", expiry: time.Unix(0, 0), idsHash: 7}))
	f.Add("")
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := c.decode(s)
		if err != nil {
			return
		}
		// Whatever decodes must be a token this codec issued.
		if again := c.encode(pt); again != s {
			if back, err := c.decode(again); err != nil || back != pt {
				t.Fatalf("decoded %+v from %q does not round-trip", pt, s)
			}
		}
	})
}

// fuzzSim is one emulator shared by a fuzz target's inputs.
func fuzzSim(f *testing.F) *Sim {
	s, err := Start(Options{Accounts: 50, Now: newClock().Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = s.Close() })
	return s
}

// FuzzUpdateBody checks that no body makes PUT answer anything but Zoho's
// statuses with JSON bodies (never a 500 or a panic).
func FuzzUpdateBody(f *testing.F) {
	s := fuzzSim(f)
	for _, b := range []string{
		`{"data":[{"id":"` + id(1) + `","Phone":"1"}]}`,
		`{"data":[{"id":"` + id(2) + `","Employees":"x","Owner":{"id":5}}],"trigger":["workflow"]}`,
		`{"data":[{"id":` + id(3) + `,"Parent_Account":{"id":"` + id(1) + `"}}]}`,
		`{"data":[null,1,"x",[]]}`, `{"data":{}}`, `[]`, `null`, `{`, ``,
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body string) {
		status, _, resp := s.callAPI(context.Background(), http.MethodPut, "/crm/v8/Accounts", []byte(body))
		switch status {
		case 200, 207, 400, 412:
		default:
			t.Fatalf("status %d for %q: %s", status, body, resp)
		}
		if !json.Valid(resp) {
			t.Fatalf("invalid JSON answer %q", resp)
		}
	})
}

// FuzzListQuery checks that no query string makes the list or search
// endpoints answer a 500.
func FuzzListQuery(f *testing.F) {
	s := fuzzSim(f)
	for _, q := range []string{"fields=Phone", "fields=Phone&page=2&per_page=5&sort_by=Modified_Time&sort_order=asc",
		"fields=Phone&page_token=abc", "fields=Phone&ids=1,2," + id(3), "fields=%ZZ", "fields=Phone&per_page=-1"} {
		f.Add("/crm/v8/Accounts", q)
	}
	f.Add("/crm/v8/Accounts/search", "word=acme")
	f.Add("/crm/v8/Accounts/search", "criteria=(Account_Name:equals:Acme)&page=3")
	f.Fuzz(func(t *testing.T, path, query string) {
		if path != "/crm/v8/Accounts" && path != "/crm/v8/Accounts/search" {
			path = "/crm/v8/Accounts"
		}
		status, _, resp := s.callAPI(context.Background(), http.MethodGet, path+"?"+query, nil)
		if status >= 500 {
			t.Fatalf("status %d for %s?%s: %s", status, path, query, resp)
		}
		if status != http.StatusNoContent && !json.Valid(resp) {
			t.Fatalf("invalid JSON answer %q", resp)
		}
	})
}

// FuzzRedirectMatches checks the authorization server never sends a browser
// anywhere but where the client registered: a redirect URI that matches a
// registered one has its scheme, host name, path and query, and only a
// loopback http URI may differ (in its port).
func FuzzRedirectMatches(f *testing.F) {
	f.Add("http://127.0.0.1/callback", "http://127.0.0.1:49152/callback")
	f.Add("http://127.0.0.1:8765/cb", "http://127.0.0.1:8765/cb")
	f.Add("https://app.example/cb", "https://app.example:444/cb")
	f.Add("http://localhost/cb", "http://localhost.evil.example/cb")
	f.Add("http://[::1]/cb?x=1", "http://[::1]:9/cb?x=1")
	f.Add("http://127.0.0.1/cb", "http://127.0.0.1@evil.example/cb")
	f.Fuzz(func(t *testing.T, registered, given string) {
		if validRedirectURI(registered) != nil || !redirectMatches(registered, given) || registered == given {
			return
		}
		r, err1 := url.Parse(registered)
		g, err2 := url.Parse(given)
		if err1 != nil || err2 != nil {
			t.Fatalf("matched unparsable URIs %q %q", registered, given)
		}
		if r.Scheme != "http" || !isLoopbackHost(r.Hostname()) || g.Scheme != r.Scheme ||
			g.Hostname() != r.Hostname() || g.EscapedPath() != r.EscapedPath() || g.RawQuery != r.RawQuery || g.User != nil {
			t.Fatalf("%q matched registered %q", given, registered)
		}
	})
}
