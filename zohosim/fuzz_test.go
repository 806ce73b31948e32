package zohosim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
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

// recordModules are the modules with a records API, for fuzz targets that
// pick one by a byte.
func recordModules() []*Module {
	var out []*Module
	for _, m := range Modules() {
		if m.APISupported {
			out = append(out, m)
		}
	}
	return out
}

// FuzzWriteBody checks that no body makes an insert, update or upsert of any
// module answer anything but Zoho's statuses with JSON bodies, and that a
// record that fails validation changes nothing.
func FuzzWriteBody(f *testing.F) {
	s := fuzzSim(f)
	seeds := []struct {
		mod  byte
		op   byte
		body string
	}{
		{1, 0, `{"data":[{"Last_Name":"A","Email":"a@b.example","Account_Name":{"id":"` + id(1) + `"},"Date_of_Birth":"1990-01-02"}]}`},
		{5, 0, `{"data":[{"Subject":"S","What_Id":{"id":"` + id(1) + `"},"$se_module":"Accounts"}]}`},
		{6, 0, `{"data":[{"Note_Content":"c","Parent_Id":{"id":"` + id(2) + `","module":{"api_name":"Accounts"}}}]}`},
		{7, 0, `{"data":[{"Name":"P","Tech_Stack":["Go"],"Go_Live":"2026-01-01T00:00:00Z","Progress":5,"Project_Code":"X"}]}`},
		{4, 1, `{"data":[{"id":"` + modID(ModuleDeals, 1) + `","Stage":"Closed Won","Amount":"1"}]}`},
		{2, 2, `{"data":[{"Last_Name":"U","Email":"u@x.example"}],"duplicate_check_fields":["Email"]}`},
		{3, 2, `{"data":[{"Account_Name":"Acme"}],"duplicate_check_fields":"Account_Name"}`},
		{7, 0, `{"data":[{"Name":null,"Tech_Stack":[1,{}]},{"$se_module":5}]}`},
		{1, 0, `{"data":{}}`}, {2, 1, `[]`}, {0, 0, ``},
	}
	for _, sd := range seeds {
		f.Add(sd.mod, sd.op, sd.body)
	}
	mods := recordModules()
	f.Fuzz(func(t *testing.T, mod, op byte, body string) {
		m := mods[int(mod)%len(mods)]
		method, path, ok := http.MethodPost, "/crm/v8/"+m.APIName, []int{201, 207, 400}
		switch op % 3 {
		case 1:
			method, ok = http.MethodPut, []int{200, 207, 400, 412}
		case 2:
			path, ok = path+"/upsert", []int{200, 207, 400}
		}
		st := s.Records(m.APIName)
		before := st.Len()
		status, _, resp := s.callAPI(context.Background(), method, path, []byte(body))
		if !slices.Contains(ok, status) {
			t.Fatalf("%s %s: status %d for %q: %s", method, path, status, body, resp)
		}
		if !json.Valid(resp) {
			t.Fatalf("invalid JSON answer %q", resp)
		}
		if status == 400 && st.Len() != before {
			t.Fatalf("a refused write added records")
		}
	})
}

// FuzzRelatedQuery checks that no related list path or query answers a 500.
func FuzzRelatedQuery(f *testing.F) {
	s := fuzzSim(f)
	f.Add(byte(1), id(2), "Contacts", "fields=Last_Name&per_page=1&sort_by=Modified_Time")
	f.Add(byte(2), modID(ModuleContacts, 4), "Deals", "fields=Deal_Name&page_token=abc")
	f.Add(byte(3), modID(ModuleDeals, 1), "Notes", "fields=Note_Title&ids=1,2")
	f.Add(byte(0), "x", "", "fields=")
	mods := recordModules()
	f.Fuzz(func(t *testing.T, mod byte, parent, list, query string) {
		m := mods[int(mod)%len(mods)]
		target := "/crm/v8/" + m.APIName + "/" + url.PathEscape(parent) + "/" + url.PathEscape(list) + "?" + query
		status, _, resp := s.callAPI(context.Background(), http.MethodGet, target, nil)
		if status >= 500 {
			t.Fatalf("status %d for %s: %s", status, target, resp)
		}
		if status != http.StatusNoContent && !json.Valid(resp) {
			t.Fatalf("invalid JSON answer %q", resp)
		}
	})
}
