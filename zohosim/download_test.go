package zohosim

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// completedWriteJob uploads a one-row update, creates the job, lets it
// finish and returns the job's download_url.
func completedWriteJob(t *testing.T, s *Sim, clock *fakeClock, tok string) string {
	t.Helper()
	id0 := s.Store().IDs()[0]
	ct, body := bulkMultipart(t, "file", "u.zip", bulkZipOf(t, "u.csv", "id,Employees\n"+id0+",77\n"))
	h := bulkUploadHeaders(ct, "bulk-write", s.OrgID())
	h.Set("Authorization", "Zoho-oauthtoken "+tok)
	st, _, b := bulkDo(t, "POST", s.BulkURL()+"/crm/v8/upload", h, bytes.NewReader(body))
	if st != http.StatusOK {
		t.Fatalf("upload: %d %s", st, b)
	}
	fileID := bulkDecode(t, b)["details"].(map[string]any)["file_id"].(string)
	st, _, b = bulkDo(t, "POST", s.BulkURL()+"/crm/bulk/v8/write", authHeader(tok), strings.NewReader(
		`{"operation":"update","resource":[{"module":{"api_name":"Accounts"},"file_id":"`+fileID+`","find_by":"id"}]}`))
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, b)
	}
	jobID := bulkDecode(t, b)["details"].(map[string]any)["id"].(string)
	clock.Advance(2 * time.Second)
	st, _, b = bulkDo(t, "GET", s.BulkURL()+"/crm/bulk/v8/write/"+jobID, authHeader(tok), nil)
	m := bulkDecode(t, b)
	if st != http.StatusOK || m["status"] != "COMPLETED" {
		t.Fatalf("status: %d %s", st, b)
	}
	return m["result"].(map[string]any)["download_url"].(string)
}

func TestDownloadHostRequiresToken(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 5})
	dl := completedWriteJob(t, s, clock, tok)
	u, err := url.Parse(dl)
	if err != nil || !u.IsAbs() {
		t.Fatalf("download_url %q is not absolute", dl)
	}
	// Its own origin: neither API domain, nor the accounts server.
	for _, other := range []string{s.RESTURL(), s.BulkURL(), s.AccountsURL(), s.baseURL(SurfaceMCP)} {
		if strings.HasPrefix(dl, other+"/") {
			t.Fatalf("download_url %s is on %s, want the download host", dl, other)
		}
	}
	if !strings.HasPrefix(dl, s.DownloadURL()+"/v2/crm/"+s.OrgID()+"/bulk-write/") || !strings.HasSuffix(dl, ".zip") {
		t.Fatalf("download_url %s: want %s/v2/crm/{org}/bulk-write/{job}/{job}.zip", dl, s.DownloadURL())
	}
	tests := []struct {
		name   string
		url    string
		hdr    http.Header
		status int
		code   string
	}{
		{"no token", dl, nil, 401, "AUTHENTICATION_FAILURE"},
		{"bearer is not Zoho's scheme", dl, http.Header{"Authorization": {"Bearer " + tok}}, 401, "AUTHENTICATION_FAILURE"},
		{"unknown token", dl, authHeader("1000.nope.nope"), 401, "INVALID_TOKEN"},
		{"another org", strings.Replace(dl, "/crm/"+s.OrgID()+"/", "/crm/1/", 1), authHeader(tok), 404, "RESOURCE_NOT_FOUND"},
		{"unknown job", s.DownloadURL() + "/v2/crm/" + s.OrgID() + "/bulk-write/42/42.zip", authHeader(tok), 404, "RESOURCE_NOT_FOUND"},
		{"API path on the download host", s.DownloadURL() + "/crm/v8/Accounts", authHeader(tok), 404, "INVALID_URL_PATTERN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, b := bulkDo(t, "GET", tc.url, tc.hdr, nil)
			if m := bulkDecode(t, b); st != tc.status || m["code"] != tc.code {
				t.Fatalf("got %d %s, want %d %s", st, b, tc.status, tc.code)
			}
		})
	}
	st, hdr, b := bulkDo(t, "GET", dl, authHeader(tok), nil)
	if st != http.StatusOK || hdr.Get("Content-Type") != "application/zip" {
		t.Fatalf("with the token: %d %s", st, b)
	}
	if rows := bulkUnzipCSV(t, b, ""); len(rows) != 2 || rows[1][len(rows[1])-2] != "UPDATED" {
		t.Fatalf("result rows %q", rows)
	}
	if got := s.RequestCount(SurfaceDownload); got != len(tests)+1 {
		t.Fatalf("RequestCount(download) %d, want %d", got, len(tests)+1)
	}
	// The expired_tokens fault reaches the download host too.
	s.SetFault(SurfaceDownload, Fault{Mode: FaultExpiredTokens, Times: 1})
	if st, _, b := bulkDo(t, "GET", dl, authHeader(tok), nil); st != 401 || bulkDecode(t, b)["code"] != "INVALID_TOKEN" {
		t.Fatalf("expired_tokens on the download host: %d %s", st, b)
	}
}

func TestDownloadHostName(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 3, DownloadHost: "download-accl.zoho.test"})
	dl := completedWriteJob(t, s, clock, tok)
	u, _ := url.Parse(dl)
	if u.Hostname() != "download-accl.zoho.test" || u.Port() == "" {
		t.Fatalf("download_url %s: want the advertised host name with the listener's port", dl)
	}
	// A client that maps the name to the listener with its own dialer.
	addr := s.DownloadAddr()
	var d net.Dialer
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
			if strings.HasPrefix(a, "download-accl.zoho.test:") {
				a = addr
			}
			return d.DialContext(ctx, network, a)
		}}}
	req, _ := http.NewRequest(http.MethodGet, dl, nil)
	req.Header.Set("Authorization", "Zoho-oauthtoken "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("download through the mapped name: %d", resp.StatusCode)
	}
	if _, err := Start(Options{DownloadHost: "host:1"}); err == nil {
		t.Fatal("a DownloadHost with a port was accepted")
	}
}

func TestDownloadTokenOptional(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 3, DownloadTokenOptional: true})
	dl := completedWriteJob(t, s, clock, tok)
	if st, _, b := bulkDo(t, "GET", dl, nil, nil); st != http.StatusOK {
		t.Fatalf("without a token when optional: %d %s", st, b)
	}
	// A token sent is still checked.
	if st, _, b := bulkDo(t, "GET", dl, authHeader("1000.nope.nope"), nil); st != http.StatusUnauthorized {
		t.Fatalf("a bad token when optional: %d %s", st, b)
	}
}

func TestDownloadHostFaults(t *testing.T) {
	t.Parallel()
	s, clock, tok := startBulkSim(t, Options{Accounts: 3})
	dl := completedWriteJob(t, s, clock, tok)
	s.SetFault(SurfaceDownload, Fault{Mode: Fault5xx, Times: 1})
	if st, _, _ := bulkDo(t, "GET", dl, authHeader(tok), nil); st != http.StatusInternalServerError {
		t.Fatalf("5xx fault: %d", st)
	}
	s.SetFault(SurfaceDownload, Fault{Mode: FaultDown})
	if _, err := tryCall(context.Background(), "GET", dl, tok, ""); err == nil {
		t.Fatal("download host down, yet it answered")
	}
	// The API surfaces are not affected.
	if st, _, _ := bulkDo(t, "GET", s.BulkURL()+"/crm/v8/org", authHeader(tok), nil); st != http.StatusOK {
		t.Fatalf("API while the download host is down: %d", st)
	}
	s.ClearFaults()
	if st, _, b := bulkDo(t, "GET", dl, authHeader(tok), nil); st != http.StatusOK {
		t.Fatalf("after ClearFaults: %d %s", st, b)
	}
	// The admin API takes the extra surfaces too.
	r := call(t, http.MethodPost, s.AdminURL()+"/admin/faults", "", `{"surface":"download","mode":"429","times":1}`)
	if r.status != http.StatusOK {
		t.Fatalf("admin fault on download: %d %s", r.status, r.body)
	}
	if st, _, _ := bulkDo(t, "GET", dl, authHeader(tok), nil); st != http.StatusTooManyRequests {
		t.Fatalf("429 fault: %d", st)
	}
	// The extra surfaces stay out of Surfaces, which callers expand per tier.
	for _, sf := range Surfaces {
		if sf == SurfaceDownload || sf == SurfaceMCPAuth {
			t.Fatalf("Surfaces lists %s", sf)
		}
	}
}

func TestMCPAuthSurfaceFaults(t *testing.T) {
	t.Parallel()
	s, _ := onDemandSim(t, Options{})
	meta := asMeta(t, s)
	s.SetFault(SurfaceMCPAuth, Fault{Mode: Fault5xx, Times: 1})
	if st, _ := postJSON(t, meta["registration_endpoint"].(string), `{"redirect_uris":["`+loopback+`"]}`); st != http.StatusInternalServerError {
		t.Fatalf("5xx on the authorization server: %d", st)
	}
	s.SetFault(SurfaceMCPAuth, Fault{Mode: FaultDown})
	if _, err := tryCall(context.Background(), "GET", s.MCPAuthServerMetadataURL(), "", ""); err == nil {
		t.Fatal("authorization server down, yet it answered")
	}
	// The MCP origin still serves its metadata.
	if st, _ := getJSON(t, s.MCPResourceMetadataURL()); st != http.StatusOK {
		t.Fatalf("PRM while the authorization server is down: %d", st)
	}
	s.ClearFaults()
	if st, _ := getJSON(t, s.MCPAuthServerMetadataURL()); st != http.StatusOK {
		t.Fatalf("after ClearFaults: %d", st)
	}
	if got := s.RequestCount(SurfaceMCPAuth); got < 2 {
		t.Fatalf("RequestCount(mcp_auth) %d", got)
	}
}
