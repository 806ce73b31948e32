package zoho

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// FuzzClassifyResponse feeds arbitrary statuses and bodies (JSON, partial
// JSON, HTML, binary) to the classifier: it must never panic, must let 2xx
// through, must classify every non-2xx answer that is not a per-record
// result, and must put 429/401/5xx in their fixed classes whatever the body
// says, so a hostile or broken body cannot turn an outage into a verdict.
func FuzzClassifyResponse(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{200, `{"data":[{"id":"1"}]}`},
		{204, ``},
		{400, `{"code":"INVALID_DATA","details":{"api_name":"Phone"},"message":"invalid data","status":"error"}`},
		{400, `{"data":[{"code":"INVALID_DATA","details":{},"message":"x","status":"error"}]}`},
		{401, `{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}`},
		{401, `{"code":"OAUTH_SCOPE_MISMATCH","message":"Unauthorized","status":"error","details":{}}`},
		{403, `{"code":"NO_PERMISSION","message":"Permission denied","status":"error","details":{"permissions":["x"]}}`},
		{429, `{"code":"TOO_MANY_REQUESTS","details":{},"message":"limit","status":"error"}`},
		{429, `{"code":429,"error":"TOO_MANY_REQUESTS","error_info":"x","details":[]}`},
		{500, `{"code":"INTERNAL_ERROR","details":{},"message":"x","status":"error"}`},
		{502, `<html>bad gateway</html>`},
		{404, `{"code":"INVALID_URL_PATTERN"`},
		{400, "\x00\xff{"},
	}
	long := `{"code":"INVALID_DATA","details":{},"status":"error","message":"` + strings.Repeat("é", 700) + `"}`
	seeds = append(seeds, struct {
		status int
		body   string
	}{400, long})
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body), true)
		f.Add(s.status, []byte(s.body), false)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, write bool) {
		if status < 100 || status > 599 {
			return
		}
		method := http.MethodGet
		if write {
			method = http.MethodPut
		}
		req := httptest.NewRequest(method, "/crm/v8/Accounts/1", nil)
		e := classifyResponse(tiers.REST, req, status, body)
		switch {
		case status >= 200 && status < 300:
			if e != nil {
				t.Fatalf("%d classified as an error: %v", status, e)
			}
			return
		case e == nil:
			if status < 400 || status >= 500 || status == 429 || !hasRecordResults(body) {
				t.Fatalf("%d %q let through unclassified", status, body)
			}
			return
		}
		if e.HTTPStatus != status || e.Tier != tiers.REST || e.Error() == "" {
			t.Fatalf("incomplete error %+v", e)
		}
		want := map[bool]tiers.Class{}
		switch {
		case status == 429:
			want[true] = tiers.ClassRateLimited
		case status == 401:
			want[true] = tiers.ClassAuth
		case status >= 500:
			if e.Class != tiers.ClassUnavailable && e.Class != tiers.ClassOutcomeUnknown {
				t.Fatalf("%d classified %v", status, e.Class)
			}
			if e.Class == tiers.ClassOutcomeUnknown && !write {
				t.Fatalf("a read classified outcome unknown")
			}
		}
		if c, ok := want[true]; ok && e.Class != c {
			t.Fatalf("%d classified %v, want %v", status, e.Class, c)
		}
		if !utf8.ValidString(e.Error()) {
			t.Fatalf("error text is not valid UTF-8: %q", e.Error())
		}
		if len(e.Message) > 4096 {
			t.Fatalf("message not bounded: %d bytes", len(e.Message))
		}
	})
}
