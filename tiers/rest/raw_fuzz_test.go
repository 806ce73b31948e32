package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// decodedFirstRecord is how GetRaw took data[0] before firstRecord: it
// decoded the whole body (as zoho.Response.Decode does) into
// []json.RawMessage and checked every element with tiers.RawID. It is the
// reference firstRecord must keep to.
func decodedFirstRecord(body []byte) (json.RawMessage, error) {
	var b struct {
		Data []json.RawMessage `json:"data"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if err := d.Decode(&b); err != nil {
		return nil, errNotAnswer
	}
	if len(b.Data) == 0 {
		return nil, errNoRecord
	}
	for _, r := range b.Data {
		if _, ok := tiers.RawID(r); !ok {
			return nil, errNotRecord
		}
	}
	if string(b.Data[0]) == "null" {
		return json.RawMessage("{}"), nil
	}
	return b.Data[0], nil
}

// verdict is what GetRaw makes of an extraction error: the agent sees
// NotFound or MALFORMED_RESPONSE, whichever of the two malformed causes it
// was.
func verdict(err error) string {
	switch {
	case err == nil:
		return "record"
	case errors.Is(err, errNoRecord):
		return "not found"
	}
	return "malformed"
}

var firstRecordSeeds = []string{
	`{"data":[{"id":"1","Account_Name":"Acme"}],"info":{"count":1}}`,
	`{"data":[{"id":"1"},{"id":"2"}]}`,
	`{"data":[null]}`,
	`{"data":[null,{"id":"2"}]}`,
	`{"data":[]}`,
	`{"data":null}`,
	`{}`,
	`null`,
	`null garbage`,
	`nul`,
	`[{"id":"1"}]`,
	`"data"`,
	`42`,
	`{"data":[1]}`,
	`{"data":[{"id":"1"},"x"]}`,
	`{"data":{"id":"1"}}`,
	`{"data":"x"}`,
	`{"DATA":[{"id":"upper"}]}`,
	`{"dAtA":[{"id":"mixed"}]}`,
	`{"d\u0061ta":[{"id":"escaped"}]}`,
	`{"data":[{"id":"1"}],"data":[{"id":"2"}]}`,
	`{"data":[{"id":"1"}],"Data":null}`,
	`{"data":5,"data":[{"id":"1"}]}`,
	`{"data":[{"id":"1"}],"data":true}`,
	`{"data":[{"id":"1"}]} trailing`,
	`{"data":[{"id":"1"}]}}`,
	`{"data":[{"id":"1"}]`,
	`{"data":[{"id":"1",}]}`,
	`{"data":[{"id":"1"}],"info":{"count":1,}}`,
	" \t\r\n{\"data\" : [ {\"id\" : \"1\"} , null ] } ",
	"\f{\"data\":[{\"id\":\"1\"}]}",
	`{"data":[{"s":"a \"quoted\" ] } brace"}]}`,
	`{"da\u0074a":[{"id":"x"}],"other":[1,2,{"data":[5]}]}`,
	"{\"data\":[{\"id\":\"\xff\"}]}",
	"{\"\xffdata\":[{\"id\":\"1\"}]}",
	`{"data":[{"id":"1"}]}{"data":[5]}`,
	`{"datum":[{"id":"1"}]}`,
}

// TestFirstRecordKeepsToDecoding holds firstRecord to the decoding it
// replaced on bodies chosen to tell them apart.
func TestFirstRecordKeepsToDecoding(t *testing.T) {
	t.Parallel()
	for _, body := range firstRecordSeeds {
		t.Run(body, func(t *testing.T) { checkFirstRecord(t, []byte(body)) })
	}
}

func checkFirstRecord(t *testing.T, body []byte) {
	t.Helper()
	want, werr := decodedFirstRecord(body)
	got, gerr := firstRecord(body)
	if verdict(gerr) != verdict(werr) || !bytes.Equal(got, want) {
		t.Fatalf("firstRecord(%q) = %q, %v; decoding gives %q, %v", body, got, gerr, want, werr)
	}
}

// FuzzFirstRecord compares firstRecord with the decoding it replaced on
// arbitrary bodies: the same record bytes, or the same verdict.
func FuzzFirstRecord(f *testing.F) {
	for _, s := range firstRecordSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkFirstRecord(t, body) })
}

// BenchmarkFirstRecord takes data[0] of a get's answer (one record of
// about 2 KB, as Zoho sends an account) by walking it and, for comparison,
// by the decoding it replaced.
func BenchmarkFirstRecord(b *testing.B) {
	rec := map[string]any{"id": "5725767000001000001", "Account_Name": "Acme \"Holdings\" Ltd"}
	for i := range 60 {
		rec[fmt.Sprintf("Field_%02d", i)] = fmt.Sprintf("value %d with some text", i)
	}
	rec["Owner"] = map[string]any{"id": "5725767000000411001", "name": "Jane Roe", "email": "jane@acme.example"}
	body, _ := json.Marshal(map[string]any{"data": []any{rec}})
	for _, f := range []struct {
		name string
		fn   func([]byte) (json.RawMessage, error)
	}{{"walk", firstRecord}, {"decode", decodedFirstRecord}} {
		b.Run(f.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.fn(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
