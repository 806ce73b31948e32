package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// readResourceErr reads uri through the resource template handler as prof.
func readResourceErr(t testing.TB, e *env, prof *permissions.Profile, uri string) (BulkPage, error) {
	t.Helper()
	tmpl, h := e.bulk.ResourceTemplate()
	if !tmpl.URITemplate.Regexp().MatchString(uri) {
		t.Fatalf("template %s does not match %s", tmpl.URITemplate.Raw(), uri)
	}
	var req mcp.ReadResourceRequest
	req.Params.URI = uri
	ctx := context.Background()
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
	if e.bulk.Len() != 0 {
		t.Error("an inline result was kept in the store")
	}
	if dir := e.bulk.resultsDir(); dir != "" {
		t.Errorf("a small read touched the disk: %s", dir)
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
		{name: "no bulk scope", prof: profReader, uri: uri, want: "needs the bulk and read scopes"},
		{name: "no profile", prof: nil, uri: uri, want: "needs the bulk and read scopes"},
		{name: "page 0", prof: profAll, uri: uri + "?page=0", want: "page must be a whole number from 1"},
		{name: "page past the end", prof: profAll, uri: uri + "?page=4", want: "page 4 does not exist: " + uri + " has pages 1–3"},
		{name: "unknown id", prof: profAll, uri: BulkURIPrefix + strings.Repeat("0", 32), want: "does not exist"},
		{name: "not an id", prof: profAll, uri: BulkURIPrefix + "..%2F..%2Fetc", want: "is not a bulk result id"},
		{name: "unknown query key", prof: profAll, uri: uri + "?page=1&x=2", want: "is not a bulk result URI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var req mcp.ReadResourceRequest
			req.Params.URI = tc.uri
			ctx := context.Background()
			if tc.prof != nil {
				ctx = permissions.WithProfile(ctx, tc.prof)
			}
			_, h := e.bulk.ResourceTemplate()
			_, err := h(ctx, req)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}

	// Expiry with the injected clock.
	e.clock.Advance(59 * time.Minute)
	readResource(t, e, profAll, uri)
	dir := e.bulk.resultsDir()
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(files) != 1 {
		t.Fatalf("%d files in the store before expiry", len(files))
	}
	e.clock.Advance(time.Minute)
	if _, err := readResourceErr(t, e, profAll, uri); !errors.Is(err, ErrBulkNotFound) {
		t.Errorf("expired result still readable: %v", err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*")); len(files) != 0 {
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
		if files, _ := filepath.Glob(filepath.Join(e.bulk.resultsDir(), "*")); e.bulk.resultsDir() != "" && len(files) != 0 {
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
	if files, _ := filepath.Glob(filepath.Join(e.bulk.resultsDir(), "*")); len(files) != 0 {
		t.Errorf("files left behind: %v", files)
	}
}

func TestBulkResultsStore(t *testing.T) {
	t.Parallel()
	clock := newClock()
	b := NewBulkResults(t.TempDir(), 10*time.Minute, clock.Now)
	put := func(prof *permissions.Profile, n int) string {
		s := newBulkSink(b, prof, 0)
		for i := range n {
			if err := s.Write(tiers.Record{"id": string(rune('0' + i%10)), "Annual_Revenue": 1}); err != nil {
				t.Fatal(err)
			}
		}
		id, _, err := s.commit()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	a := put(profSales, 3)
	clock.Advance(5 * time.Minute)
	c := put(profAll, 1)
	if a == c || len(a) != 32 {
		t.Fatalf("ids %q %q", a, c)
	}
	pg, err := b.Read("sales", a, 1)
	if err != nil || pg.Total != 3 || strings.Contains(string(pg.Records[0]), "Annual_Revenue") {
		t.Fatalf("read = %+v, %v", pg, err)
	}
	if _, err := b.Read("ops", a, 1); !errors.Is(err, ErrBulkNotFound) {
		t.Errorf("another profile read it: %v", err)
	}
	clock.Advance(5 * time.Minute)
	if n := b.Sweep(); n != 1 {
		t.Errorf("Sweep removed %d, want 1 (only the first has expired)", n)
	}
	if _, err := b.Read("ops", c, 1); err != nil {
		t.Errorf("unexpired result gone: %v", err)
	}
	dir := b.resultsDir()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s", dir)
	}
	s := newBulkSink(b, profAll, 0)
	if err := s.Write(tiers.Record{"id": "1"}); err == nil {
		t.Error("closed store accepted a result")
	}
}

func TestBulkResultsEvictsOldest(t *testing.T) {
	t.Parallel()
	clock := newClock()
	b := NewBulkResults(t.TempDir(), time.Hour, clock.Now)
	defer b.Close()
	var first string
	for i := range maxBulkEntries + 1 {
		s := newBulkSink(b, profAll, 0)
		s.Write(tiers.Record{"id": "1"})
		id, _, err := s.commit()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = id
		}
		clock.Advance(time.Second)
	}
	if b.Len() != maxBulkEntries {
		t.Errorf("Len = %d", b.Len())
	}
	if _, err := b.Read("ops", first, 1); !errors.Is(err, ErrBulkNotFound) {
		t.Errorf("oldest not evicted: %v", err)
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

func TestBulkResultsPut(t *testing.T) {
	t.Parallel()
	clock := newClock()
	b := NewBulkResults(t.TempDir(), time.Minute, clock.Now)
	defer b.Close()
	recs := make([]tiers.Record, BulkPageSize+1)
	for i := range recs {
		recs[i] = tiers.Record{"id": fmt.Sprint(i)}
	}
	id, exp, err := b.Put("ops", recs)
	if err != nil || !exp.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("Put = %q, %v, %v", id, exp, err)
	}
	pg, err := b.Read("ops", id, 2)
	if err != nil || len(pg.Records) != 1 || string(pg.Records[0]) != `{"id":"500"}` || pg.NextURI != "" {
		t.Fatalf("page 2 = %+v, %v", pg, err)
	}
	empty, _, err := b.Put("ops", nil)
	if err != nil {
		t.Fatal(err)
	}
	pg, err = b.Read("ops", empty, 1)
	if err != nil || pg.Total != 0 || pg.Pages != 1 || len(pg.Records) != 0 {
		t.Fatalf("empty result page = %+v, %v", pg, err)
	}
}
