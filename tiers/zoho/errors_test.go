package zoho

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

func TestClassifyResponse(t *testing.T) {
	t.Parallel()
	env := func(code string) string {
		return `{"code":"` + code + `","details":{"api_name":"Phone","limit":"2000"},"message":"zoho says ` + code + `","status":"error"}`
	}
	tests := []struct {
		name   string
		method string
		path   string
		status int
		body   string
		class  tiers.Class // -1 = success (nil)
		code   string
		msg    string
	}{
		{"200", "GET", "/crm/v8/Accounts", 200, `{"data":[]}`, -1, "", ""},
		{"204", "GET", "/crm/v8/Accounts", 204, ``, -1, "", ""},
		{"207 per record", "PUT", "/crm/v8/Accounts", 207, `{"data":[]}`, -1, "", ""},
		{"400 per record (all failed)", "PUT", "/crm/v8/Accounts", 400, `{"data":[{"code":"INVALID_DATA"}]}`, -1, "", ""},
		{"INVALID_DATA", "GET", "/crm/v8/Accounts", 400, env("INVALID_DATA"), tiers.ClassVerdict, "INVALID_DATA", "zoho says INVALID_DATA"},
		{"MANDATORY_NOT_FOUND", "PUT", "/crm/v8/Accounts/1", 400, env("MANDATORY_NOT_FOUND"), tiers.ClassVerdict, "MANDATORY_NOT_FOUND", ""},
		{"DUPLICATE_DATA", "PUT", "/crm/v8/Accounts/1", 400, env("DUPLICATE_DATA"), tiers.ClassVerdict, "DUPLICATE_DATA", ""},
		{"NO_PERMISSION 403", "GET", "/crm/v8/Accounts", 403, env("NO_PERMISSION"), tiers.ClassVerdict, "NO_PERMISSION", ""},
		{"INVALID_MODULE", "GET", "/crm/v8/Leadz", 400, env("INVALID_MODULE"), tiers.ClassVerdict, "INVALID_MODULE", ""},
		{"REQUIRED_PARAM_MISSING", "GET", "/crm/v8/Accounts", 400, env("REQUIRED_PARAM_MISSING"), tiers.ClassVerdict, "REQUIRED_PARAM_MISSING", ""},
		{"LIMIT_EXCEEDED", "GET", "/crm/v8/Accounts", 400, env("LIMIT_EXCEEDED"), tiers.ClassVerdict, "LIMIT_EXCEEDED", ""},
		{"INVALID_QUERY", "POST", "/crm/v8/coql", 400, env("INVALID_QUERY"), tiers.ClassVerdict, "INVALID_QUERY", ""},
		{"SYNTAX_ERROR", "POST", "/crm/v8/coql", 400, env("SYNTAX_ERROR"), tiers.ClassVerdict, "SYNTAX_ERROR", ""},
		{"LIMIT_REACHED", "GET", "/crm/v8/Accounts/search", 400, env("LIMIT_REACHED"), tiers.ClassVerdict, "LIMIT_REACHED", ""},
		{"ALREADY_MODIFIED 412", "PUT", "/crm/v8/Accounts/1", 412, env("ALREADY_MODIFIED"), tiers.ClassVerdict, "ALREADY_MODIFIED", ""},
		{"INVALID_URL_PATTERN 404", "GET", "/crm/v8/x/y/z", 404, env("INVALID_URL_PATTERN"), tiers.ClassVerdict, "INVALID_URL_PATTERN", ""},
		{"429", "GET", "/crm/v8/Accounts", 429, env("TOO_MANY_REQUESTS"), tiers.ClassRateLimited, "TOO_MANY_REQUESTS", ""},
		{"429 legacy shape", "GET", "/crm/v8/Accounts", 429, `{"code":429,"error":"TOO_MANY_REQUESTS","error_info":"x","details":[]}`, tiers.ClassRateLimited, "TOO_MANY_REQUESTS", ""},
		{"429 no body", "PUT", "/crm/v8/Accounts", 429, ``, tiers.ClassRateLimited, "TOO_MANY_REQUESTS", "limit"},
		{"scope mismatch names the scope", "GET", "/crm/v8/coql", 401, env("OAUTH_SCOPE_MISMATCH"), tiers.ClassAuth, "OAUTH_SCOPE_MISMATCH", "ZohoCRM.coql.READ"},
		{"scope mismatch on bulk read", "POST", "/crm/bulk/v8/read", 401, env("OAUTH_SCOPE_MISMATCH"), tiers.ClassAuth, "OAUTH_SCOPE_MISMATCH", "ZohoCRM.bulk.READ"},
		{"scope mismatch on upload", "POST", "/crm/v8/upload", 401, env("OAUTH_SCOPE_MISMATCH"), tiers.ClassAuth, "OAUTH_SCOPE_MISMATCH", "ZohoFiles.files.ALL"},
		{"invalid token after refresh", "GET", "/crm/v8/Accounts", 401, env("INVALID_TOKEN"), tiers.ClassAuth, "INVALID_TOKEN", "even after a refresh"},
		{"500 read", "GET", "/crm/v8/Accounts", 500, env("INTERNAL_ERROR"), tiers.ClassUnavailable, "INTERNAL_ERROR", ""},
		{"500 write: outcome unknown", "PUT", "/crm/v8/Accounts", 500, env("INTERNAL_ERROR"), tiers.ClassOutcomeUnknown, "INTERNAL_ERROR", "may or may not"},
		{"503 write: unavailable", "PUT", "/crm/v8/Accounts", 503, ``, tiers.ClassUnavailable, "", "503"},
		{"502 html", "GET", "/crm/v8/Accounts", 502, `<html>bad gateway</html>`, tiers.ClassUnavailable, "", "502"},
		{"400 html", "GET", "/crm/v8/Accounts", 400, `<html>`, tiers.ClassUnavailable, "", "not a Zoho answer"},
		{"302", "GET", "/crm/v8/Accounts", 302, ``, tiers.ClassUnavailable, "", "302"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := &http.Request{Method: tt.method, URL: &url.URL{Path: tt.path}}
			e := classifyResponse(tiers.Bulk, req, tt.status, []byte(tt.body))
			if tt.class == -1 {
				if e != nil {
					t.Fatalf("want success, got %v", e)
				}
				return
			}
			if e == nil {
				t.Fatal("want an error")
			}
			if e.Class != tt.class || e.Code != tt.code || e.HTTPStatus != tt.status || e.Tier != tiers.Bulk {
				t.Fatalf("got %+v, want class %v code %q", e, tt.class, tt.code)
			}
			if tt.msg != "" && !strings.Contains(e.Error(), tt.msg) {
				t.Fatalf("message %q lacks %q", e.Error(), tt.msg)
			}
			if tt.class == tiers.ClassVerdict && e.Details["api_name"] != "Phone" {
				t.Fatalf("details not kept: %v", e.Details)
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("https://user:pw@accounts.zoho.com/oauth/v2/token?refresh_token=" + testRefreshToken + "&client_secret=" + testClientSecret + "&grant_type=refresh_token&code=abc")
	got := RedactURL(u)
	assertNoSecrets(t, got, "pw", "code=abc")
	if !strings.Contains(got, "grant_type=REDACTED") || !strings.Contains(got, "refresh_token=REDACTED") {
		t.Fatalf("parameter names lost: %s", got)
	}
	// The caller's data in search queries is no secret by name, but may not
	// be logged either (it used to be, in full).
	u, _ = url.Parse("https://www.zohoapis.com/crm/v8/Accounts/search?criteria=((Email:equals:jane@acme.example)and(Phone:starts_with:555))&email=jane@acme.example&phone=5550100&word=Confidential+Merger&ids=5725767000001,5725767000002&fields=Account_Name#frag")
	got = RedactURL(u)
	assertNoSecrets(t, got, "jane", "acme", "555", "Confidential", "Merger", "5725767000001", "Account_Name", "frag")
	for _, name := range []string{"criteria=", "email=", "phone=", "word=", "ids=", "fields="} {
		if !strings.Contains(got, name+"REDACTED") {
			t.Errorf("%s lost: %s", name, got)
		}
	}
	if !strings.HasPrefix(got, "https://www.zohoapis.com/crm/v8/Accounts/search?") {
		t.Errorf("host and path lost: %s", got)
	}
}
