package server

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// seen is what a handler behind Wrap found in its request.
type seen struct {
	profile *permissions.Profile
	caller  permissions.Caller
	body    string // the postBody Wrap read
	read    string // what r.Body gave
	length  int64
	origin  string
}

// Wrap hands what runs behind it the caller's profile and identity, the
// body it read (as the postBody and again as r.Body), and the Origin of a
// browser page whose profile it reduced.
func TestWrapContext(t *testing.T) {
	policy := permissions.Default()
	sec := Security{Loopback: true, Policy: policy}
	var got seen
	h := sec.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{profile: permissions.ProfileFrom(r.Context()), caller: permissions.CallerFrom(r.Context()),
			length: r.ContentLength, origin: browserOrigin(r.Context())}
		if pb, _ := r.Context().Value(bodyKey).(*postBody); pb != nil {
			got.body = string(pb.b)
		}
		b, _ := io.ReadAll(r.Body)
		got.read = string(b)
		if err := r.Body.Close(); err != nil {
			t.Errorf("Body.Close: %v", err)
		}
	}))
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	for _, tc := range []struct {
		name   string
		method string
		origin string
		want   seen
	}{
		{"POST", http.MethodPost, "", seen{profile: policy.DefaultProfile(), caller: permissions.LocalCaller, body: body, read: body, length: int64(len(body))}},
		{"GET", http.MethodGet, "", seen{profile: policy.DefaultProfile(), caller: permissions.LocalCaller, read: body, length: int64(len(body))}},
		{"POST from a page", http.MethodPost, "http://localhost:3000", seen{profile: forBrowser(policy.DefaultProfile()), caller: permissions.LocalCaller,
			body: body, read: body, length: int64(len(body)), origin: "http://localhost:3000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got = seen{}
			r := httptest.NewRequest(tc.method, PathMCP, bytes.NewReader([]byte(body)))
			r.Host = "127.0.0.1:8765"
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			// A reduced profile is a copy: compare it by content.
			if got.profile == nil || got.profile.Name != tc.want.profile.Name ||
				(tc.origin == "") != (got.profile == tc.want.profile) || len(got.profile.Scopes) != len(tc.want.profile.Scopes) {
				t.Errorf("profile = %+v, want %+v", got.profile, tc.want.profile)
			}
			got.profile = tc.want.profile
			if got != tc.want {
				t.Errorf("handler saw %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Wrap adds one value to a POST's context for all it carries (the body,
// the browser origin) and one for the caller's identity: two allocations,
// and the request's copy, beyond reading the body (nine before: five
// context values and boxes, the body's reader and its closer, a net.Error).
func TestWrapContextAllocations(t *testing.T) {
	sec := Security{Loopback: true, Policy: permissions.Default()}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := sec.Wrap(next)
	body := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
	r := httptest.NewRequest(http.MethodPost, PathMCP, nil)
	r.Host = "127.0.0.1:8765"
	w := httptest.NewRecorder()
	rd := bytes.NewReader(body)
	rc := io.NopCloser(rd)
	// Everything else Wrap allocates for a POST: the body's buffer and
	// its limit, the response controller's failing deadline calls on a
	// recorder (the request's copy stays on the stack here).
	base := testing.AllocsPerRun(200, func() {
		rd.Reset(body)
		r.Body = rc
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
		ctl := http.NewResponseController(w)
		_ = ctl.SetReadDeadline(sinkTime)
		_ = ctl.SetReadDeadline(sinkTime)
		next.ServeHTTP(w, r.WithContext(r.Context()))
		_ = b
	})
	n := testing.AllocsPerRun(200, func() {
		rd.Reset(body)
		r.Body = rc
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
	if n-base > 3 {
		t.Errorf("Wrap allocates %v times beyond reading the body (%v), want at most 3 more", n, base)
	}
}

var sinkTime time.Time
