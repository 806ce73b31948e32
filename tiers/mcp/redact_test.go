package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	pathEP := "https://zoho-crm-data-operations-60065097786.zohomcp.in/mcp/" + testKey + "/message"
	queryEP := "https://zoho-crm-1.zohomcp.com/mcp/message?key=" + testKey
	tests := []struct {
		name, endpoint, in string
		gone               []string
		kept               []string
	}{
		{"path key in a transport error", pathEP, `Post "` + pathEP + `": dial tcp: connection refused`,
			[]string{testKey}, []string{"zohomcp.in/mcp/[REDACTED]/message", "connection refused"}},
		{"query key", queryEP, "GET " + queryEP + " failed", []string{testKey}, []string{"key=[REDACTED]"}},
		{"key alone", pathEP, "the key is " + testKey, []string{testKey}, []string{"the key is [REDACTED]"}},
		{"key of another server", pathEP, "http://h/mcp/0123456789abcdef0123/message", []string{"0123456789abcdef0123"}, []string{"/mcp/[REDACTED]/message"}},
		{"secret", pathEP, "client_secret=s3cr3t-value&x=1", []string{"s3cr3t-value"}, []string{"x=1"}},
		{"plain text untouched", pathEP, "INVALID_DATA: the field mcp is invalid", nil, []string{"INVALID_DATA: the field mcp is invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRedactor(tt.endpoint, "s3cr3t-value")
			out := r.String(tt.in)
			for _, g := range tt.gone {
				if strings.Contains(out, g) {
					t.Errorf("%q still holds %q", out, g)
				}
			}
			for _, k := range tt.kept {
				if !strings.Contains(out, k) {
					t.Errorf("%q lost %q", out, k)
				}
			}
		})
	}
}

func TestRedactedErrorKeepsSentinels(t *testing.T) {
	t.Parallel()
	r := newRedactor("http://h/mcp/" + testKey + "/message")
	base := errors.New("boom at /mcp/" + testKey + "/message")
	err := r.Error(errors.Join(base, mcpgo.ErrInvalidParams))
	if strings.Contains(err.Error(), testKey) || !errors.Is(err, mcpgo.ErrInvalidParams) {
		t.Fatalf("err = %v", err)
	}
	var target *redactedError
	if !errors.As(err, &target) {
		t.Fatal("not a redactedError")
	}
}

func TestRedactingLogger(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := newRedactor("http://h/mcp/" + testKey + "/message")
	l := slog.New(&redactHandler{next: slog.NewJSONHandler(&buf, nil), r: r}).With("endpoint", "http://h/mcp/"+testKey+"/message")
	l.Error("failed to send close request to http://h/mcp/"+testKey+"/message", "err", errors.New("dial "+testKey),
		slog.Group("g", "url", testKey))
	if strings.Contains(buf.String(), testKey) || !strings.Contains(buf.String(), "[REDACTED]") {
		t.Fatalf("log line = %s", buf.String())
	}
}

func FuzzRedact(f *testing.F) {
	f.Add("Post \"http://127.0.0.1:1/mcp/", "/message\": EOF")
	f.Add("", "")
	f.Add("key=", "&a=b")
	f.Add(testKey[:10], testKey[10:])
	f.Fuzz(func(t *testing.T, prefix, suffix string) {
		r := newRedactor("https://a-1.zohomcp.com/mcp/" + testKey + "/message")
		out := r.String(prefix + testKey + suffix)
		if strings.Contains(out, testKey) {
			t.Fatalf("key survives in %q", out)
		}
	})
}

// FuzzPayload feeds arbitrary tool text to the result parser: it must not
// panic, and whatever it returns as Zoho JSON must be valid JSON.
func FuzzPayload(f *testing.F) {
	for _, s := range []string{`{"data":[{"id":"1"}]}`, `{"data":{"data":[]},"status":"success"}`, ``, `null`, `not json`, `[1,2]`, `{"data":{"x":1},"status":"success","a":1,"b":2}`} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, text string, isErr bool) {
		res := &toolResult{IsError: isErr, Texts: [][]byte{[]byte(text)}}
		raw, empty, err := payload(res)
		if err == nil && !empty && !json.Valid(raw) {
			t.Fatalf("payload(%q) = invalid JSON %q", text, raw)
		}
		tr := &Tier{baseR: newRedactor("")}
		if e := tr.toolError(res); e == nil || e.Message == "" {
			t.Fatalf("toolError(%q) = %v", text, e)
		}
	})
}
