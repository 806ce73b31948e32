package tools

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// readResourceErr reads uri through the resource template handler as prof's
// caller (callerOf).
func readResourceErr(t testing.TB, e *env, prof *permissions.Profile, uri string) (BulkPage, error) {
	t.Helper()
	return readResourceAs(t, e, callerOf(prof), prof, uri)
}

// readResourceAs reads uri through the resource template handler as caller
// with profile prof.
func readResourceAs(t testing.TB, e *env, caller permissions.Caller, prof *permissions.Profile, uri string) (BulkPage, error) {
	t.Helper()
	tmpl, h := ResourceTemplate(e.bulk)
	if !tmpl.URITemplate.Regexp().MatchString(uri) {
		t.Fatalf("template %s does not match %s", tmpl.URITemplate.Raw(), uri)
	}
	var req mcp.ReadResourceRequest
	req.Params.URI = uri
	ctx := permissions.WithCaller(context.Background(), caller)
	if prof != nil {
		ctx = permissions.WithProfile(ctx, prof)
	}
	cs, err := h(ctx, req)
	if err != nil {
		return BulkPage{}, err
	}
	if len(cs) != 1 {
		t.Fatalf("%d contents", len(cs))
	}
	tc, ok := cs[0].(mcp.TextResourceContents)
	if !ok || tc.MIMEType != "application/json" || tc.URI != uri {
		t.Fatalf("contents = %#v", cs[0])
	}
	var pg BulkPage
	if err := json.Unmarshal([]byte(tc.Text), &pg); err != nil {
		t.Fatal(err)
	}
	return pg, nil
}

func readResource(t testing.TB, e *env, prof *permissions.Profile, uri string) BulkPage {
	t.Helper()
	pg, err := readResourceErr(t, e, prof, uri)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	return pg
}

func TestBulkReadInline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 10) // InlineLimit is 10 in tests
	res := e.call(t, profAll, "bulk_read_accounts", `{"fields":["Account_Name"]}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	m := structured(t, res)
	if m["inline"] != true || m["count"] != float64(10) || len(m["accounts"].([]any)) != 10 || m["strategy"] != "fake-MCP" || m["credits"] != float64(1) {
		t.Errorf("structured = %v", m)
	}
	if _, ok := m["resource_uri"]; ok {
		t.Error("inline result has a resource_uri")
	}
	if e.bulk.Len() != 0 || e.bulk.Bytes() != 0 {
		t.Error("an inline result was kept in the store")
	}
	if files, _ := filepath.Glob(filepath.Join(e.bulk.Dir(), "*.jsonl")); len(files) != 0 {
		t.Errorf("a small read touched the disk: %v", files)
	}
	if len(res.Content) != 1 {
		t.Errorf("inline result has %d content items", len(res.Content))
	}
	if !strings.HasPrefix(text(res), "Read 10 accounts inline") {
		t.Errorf("text = %s", text(res))
	}
}

func TestBulkReadEmpty(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	res := e.call(t, profAll, "bulk_read_accounts", `{"where":[{"field":"Industry","op":"equals","value":"None"}]}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	if m := structured(t, res); m["count"] != float64(0) || m["inline"] != true || len(m["accounts"].([]any)) != 0 {
		t.Errorf("structured = %v", m)
	}
}

func TestBulkReadAsResource(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1201)
	res := e.call(t, profAll, "bulk_read_accounts", `{}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	m := structured(t, res)
	uri, _ := m["resource_uri"].(string)
	if m["inline"] != false || m["count"] != float64(1201) || m["pages"] != float64(3) || !strings.HasPrefix(uri, BulkURIPrefix) || m["accounts"] != nil {
		t.Fatalf("structured = %v", m)
	}
	if m["expires_at"] != e.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339) {
		t.Errorf("expires_at = %v", m["expires_at"])
	}
	if len(res.Content) != 2 {
		t.Fatalf("want text + resource_link, got %d items", len(res.Content))
	}
	link, ok := res.Content[1].(mcp.ResourceLink)
	if !ok || link.Type != "resource_link" || link.URI != uri || link.MIMEType != "application/json" {
		t.Errorf("link = %#v", res.Content[1])
	}
	if !strings.Contains(text(res), uri) || !strings.Contains(text(res), "resources/read") {
		t.Errorf("text does not say where the result is: %s", text(res))
	}

	seen := map[string]bool{}
	next := uri
	for page := 1; next != ""; page++ {
		pg := readResource(t, e, profAll, next)
		if pg.Page != page || pg.Pages != 3 || pg.Total != 1201 {
			t.Fatalf("page header = %+v", pg)
		}
		want := BulkPageSize
		if page == 3 {
			want = 201
		}
		if len(pg.Records) != want {
			t.Fatalf("page %d has %d records, want %d", page, len(pg.Records), want)
		}
		for _, r := range pg.Records {
			var rec map[string]any
			if err := json.Unmarshal(r, &rec); err != nil {
				t.Fatal(err)
			}
			id := rec["id"].(string)
			if seen[id] {
				t.Fatalf("record %s on two pages", id)
			}
			seen[id] = true
		}
		next = pg.NextURI
	}
	if len(seen) != 1201 {
		t.Errorf("read %d distinct records, want 1201", len(seen))
	}

	tests := []struct {
		name string
		prof *permissions.Profile
		uri  string
		want string
	}{
		{name: "another profile", prof: &permissions.Profile{Name: "other", Scopes: permissions.AllScopes()}, uri: uri, want: "does not exist, has expired or belongs to another caller"},
		{name: "no bulk scope", prof: profReader, uri: uri, want: "needs the bulk scope"},
		{name: "no profile", prof: nil, uri: uri, want: "needs the bulk scope"},
		{name: "page 0", prof: profAll, uri: uri + "?page=0", want: "page must be a whole number from 1"},
		{name: "page past the end", prof: profAll, uri: uri + "?page=4", want: "page 4 does not exist: result " + strings.TrimPrefix(uri, BulkURIPrefix) + " has pages 1–3"},
		{name: "unknown id", prof: profAll, uri: BulkURIPrefix + strings.Repeat("0", 32), want: "does not exist"},
		{name: "not an id", prof: profAll, uri: BulkURIPrefix + "..%2F..%2Fetc", want: "is not a bulk result id"},
		{name: "unknown query key", prof: profAll, uri: uri + "?page=1&x=2", want: "is not a bulk result URI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req mcp.ReadResourceRequest
			req.Params.URI = tc.uri
			ctx := permissions.WithCaller(context.Background(), callerOf(tc.prof))
			if tc.prof != nil {
				ctx = permissions.WithProfile(ctx, tc.prof)
			}
			_, h := ResourceTemplate(e.bulk)
			_, err := h(ctx, req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}

	// The same profile through another caller (another bearer token, another
	// stdio process) cannot read it: results are bound to the caller, not
	// the profile.
	if _, err := readResourceAs(t, e, "token:another", profAll, uri); !errors.Is(err, ErrResultNotFound) {
		t.Errorf("another caller with the same profile read the result: %v", err)
	}

	// Expiry with the injected clock.
	e.clock.Advance(59 * time.Minute)
	readResource(t, e, profAll, uri)
	dir := e.bulk.Dir()
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if len(files) != 1 {
		t.Fatalf("%d files in the store before expiry", len(files))
	}
	e.clock.Advance(time.Minute)
	if _, err := readResourceErr(t, e, profAll, uri); !errors.Is(err, ErrBulkNotFound) {
		t.Errorf("expired result still readable: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl")); len(files) != 0 {
		t.Errorf("expired result's file not removed: %v", files)
	}
}

// TestBulkReadResetBetweenTiers: what a failed tier wrote is discarded, so
// the answer holds exactly the serving tier's records.
func TestBulkReadResetBetweenTiers(t *testing.T) {
	t.Parallel()
	for _, n := range []int{5, 40} { // inline, then spilled to disk before the failure
		first := newFakeTier(tiers.MCP, 0)
		first.OnBulkRead = func(_ context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
			for i := range n {
				if err := sink.Write(tiers.Record{"id": "9" + strings.Repeat("0", i%10), "Junk": true}); err != nil {
					return tiers.BulkReadResult{}, err
				}
			}
			return tiers.BulkReadResult{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, Message: "connection reset"}
		}
		e := newEnvWith(t, []*tierstest.Tier{first, newFakeTier(tiers.Bulk, 3)})
		res := e.call(t, profAll, "bulk_read_accounts", `{}`)
		if res.IsError {
			t.Fatal(text(res))
		}
		m := structured(t, res)
		if m["count"] != float64(3) || m["inline"] != true {
			t.Fatalf("n=%d: structured = %v", n, m)
		}
		for _, a := range m["accounts"].([]any) {
			if a.(map[string]any)["Junk"] != nil {
				t.Fatalf("n=%d: record from the failed tier kept: %v", n, a)
			}
		}
		if files, _ := filepath.Glob(filepath.Join(e.bulk.Dir(), "*.jsonl")); len(files) != 0 || e.bulk.Bytes() != 0 {
			t.Errorf("n=%d: files left behind after reset: %v", n, files)
		}
	}
}

func TestBulkReadWithoutStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 25, func(d *Deps) { d.Bulk = nil })
	res := e.call(t, profAll, "bulk_read_accounts", `{}`)
	if !res.IsError || !strings.Contains(text(res), "found 25 accounts, more than the 10 this proxy returns inline") {
		t.Errorf("got %v %s", res.IsError, text(res))
	}
}

func TestBulkReadFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 0)
	e.tier.OnBulkRead = func(_ context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
		for range 30 {
			sink.Write(tiers.Record{"id": "1"})
		}
		return tiers.BulkReadResult{}, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassVerdict, Code: "INVALID_QUERY", Message: "bad criteria"}
	}
	res := e.call(t, profAll, "bulk_read_accounts", `{"where":[{"field":"A","op":"equals","value":1}]}`)
	if !res.IsError || !strings.Contains(text(res), "INVALID_QUERY: bad criteria") {
		t.Fatalf("got %v %s", res.IsError, text(res))
	}
	if e.bulk.Len() != 0 {
		t.Error("a failed read was kept")
	}
	if files, _ := filepath.Glob(filepath.Join(e.bulk.Dir(), "*.jsonl")); len(files) != 0 || e.bulk.Bytes() != 0 {
		t.Errorf("files left behind: %v", files)
	}
}

func TestParseBulkURI(t *testing.T) {
	t.Parallel()
	id := strings.Repeat("ab", 16)
	tests := []struct {
		name, uri string
		page      int
		ok        bool
	}{
		{"first page", BulkURIPrefix + id, 1, true},
		{"page 3", BulkURIPrefix + id + "?page=3", 3, true},
		{"other scheme", "file:///etc/passwd", 0, false},
		{"other host", "zoho-mcp-proxy://other/" + id, 0, false},
		{"short id", BulkURIPrefix + "abc", 0, false},
		{"negative page", BulkURIPrefix + id + "?page=-1", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gotID, page, err := parseBulkURI(tc.uri)
			if (err == nil) != tc.ok || (tc.ok && (gotID != id || page != tc.page)) {
				t.Errorf("parseBulkURI(%q) = %q, %d, %v", tc.uri, gotID, page, err)
			}
		})
	}
}
