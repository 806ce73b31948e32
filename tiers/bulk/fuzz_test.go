package bulk

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

func TestParseRowErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, code, msg string
	}{
		{"empty", "", "", ""},
		{"one", "INVALID_DATA-Phone", "INVALID_DATA", "INVALID_DATA in Phone"},
		{"columns", "MANDATORY_NOT_FOUND-Company,Last_Name", "MANDATORY_NOT_FOUND", "MANDATORY_NOT_FOUND in Company, Last_Name"},
		{"several", "MANDATORY_NOT_FOUND-Company,Last_Name:DUPLICATE_DATA-Email", "MANDATORY_NOT_FOUND", "MANDATORY_NOT_FOUND in Company, Last_Name; DUPLICATE_DATA in Email"},
		{"code only", "CANNOT_PROCESS", "CANNOT_PROCESS", "CANNOT_PROCESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, msg := parseRowErrors(tt.in)
			if code != tt.code || msg != tt.msg {
				t.Fatalf("parseRowErrors(%q) = %q, %q; want %q, %q", tt.in, code, msg, tt.code, tt.msg)
			}
		})
	}
}

// FuzzWriteResult feeds arbitrary result CSVs to the Bulk Write result
// reader: it must never panic, and every record must come out settled
// (success, error or unknown) — never silently left as not sent.
func FuzzWriteResult(f *testing.F) {
	f.Add("id,Phone,RECORD_ID,STATUS,ERRORS\n1,5,1,UPDATED,\n2,x,2,SKIPPED,INVALID_DATA-Phone\n")
	f.Add("RECORD_ID,STATUS,ERRORS\n2,UPDATED,\n1,SKIPPED,RESOURCE_NOT_FOUND-id\n")
	f.Add("id,RECORD_ID,STATUS,ERRORS\n1,1,UPDATED\n\"unterminated")
	f.Add("no,columns\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, csvText string) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		w, _ := zw.Create("Accounts-update.csv")
		_, _ = w.Write([]byte(csvText))
		_ = zw.Close()
		ups := []tiers.UpdateRequest{{ID: "1"}, {ID: "2"}, {ID: "1"}}
		outs := make([]tiers.Outcome, len(ups))
		for i := range outs {
			outs[i] = tiers.Outcome{ID: ups[i].ID, Status: tiers.StatusNotSent}
		}
		err := readWriteResult(bytes.NewReader(buf.Bytes()), int64(buf.Len()), ups, outs)
		if err != nil {
			if tiers.Classify(err) != tiers.ClassUnavailable {
				t.Fatalf("a broken result is %v, want unavailable", err)
			}
			return
		}
		for i, o := range outs {
			if o.Status == tiers.StatusNotSent || o.ID != ups[i].ID {
				t.Fatalf("outcome %d = %+v", i, o)
			}
			if o.Status == tiers.StatusError && o.Code == "" {
				t.Fatalf("error outcome without code: %+v", o)
			}
		}
	})
}

// FuzzParseRowErrors checks the ERRORS cell reader never panics and that a
// code it returns appears in the input.
func FuzzParseRowErrors(f *testing.F) {
	for _, s := range []string{"", "A-B", "A-B,C:D-E", ":::", "-", "A--B", "A-:B-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		code, _ := parseRowErrors(s)
		if code != "" && !strings.Contains(s, code) {
			t.Fatalf("code %q not in %q", code, s)
		}
	})
}
