package bulk

import (
	"context"
	"encoding/json"
	"math/big"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// sameValue compares one field as read by two paths: null with null,
// numbers by value, lookups by id (a job's carry no name), the rest equal.
func sameValue(a, b any) bool {
	if ma, ok := a.(map[string]any); ok {
		mb, ok := b.(map[string]any)
		return ok && ma["id"] == mb["id"] && ma["id"] != nil
	}
	if na, ok := a.(json.Number); ok {
		nb, ok := b.(json.Number)
		ra, ok1 := new(big.Rat).SetString(na.String())
		rb, ok2 := new(big.Rat).SetString(nb.String())
		return ok && ok1 && ok2 && ra.Cmp(rb) == 0
	}
	return reflect.DeepEqual(a, b)
}

var typedFields = []string{"Account_Name", "Owner", "Parent_Account", "Annual_Revenue", "Employees", "Account_Number",
	"Exchange_Rate", "Locked__s", "Created_Time", "Description", "Industry"}

// TestBulkReadJobRecordsLookLikeCOQLAndREST reads the same records through
// a Bulk Read job (CSV), COQL and the REST API: every field has the same
// JSON type and value on all three paths.
func TestBulkReadJobRecordsLookLikeCOQLAndREST(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 150})
	ctx := context.Background()
	req := tiers.BulkReadRequest{Module: "Accounts", Fields: typedFields}
	var job, coql tierstest.Sink
	if _, err := e.tier.readJob(ctx, req, typedFields, "", &job, tiers.BulkReadResult{}); err != nil {
		t.Fatal(err)
	}
	res, err := e.tier.BulkRead(ctx, req, &coql)
	if err != nil || res.Strategy != StrategyCOQL {
		t.Fatalf("COQL read: %+v, %v", res, err)
	}
	byID := func(recs []tiers.Record) map[string]tiers.Record {
		m := map[string]tiers.Record{}
		for _, r := range recs {
			m[r["id"].(string)] = r
		}
		return m
	}
	jobs, coqls := byID(job.Records()), byID(coql.Records())
	if len(jobs) != 150 || len(coqls) != 150 {
		t.Fatalf("%d records by job, %d by COQL; want 150", len(jobs), len(coqls))
	}
	var ids []string
	for id := range jobs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	resp, err := e.zc.Do(ctx, zoho.Request{Path: "/crm/v8/Accounts", Query: url.Values{"ids": {strings.Join(ids[:100], ",")}, "fields": {strings.Join(typedFields, ",")}}})
	if err != nil {
		t.Fatal(err)
	}
	var rest struct{ Data []tiers.Record }
	if err := resp.Decode(&rest); err != nil {
		t.Fatal(err)
	}
	rests := byID(rest.Data)
	nulls, lookups := 0, 0
	for _, id := range ids {
		j := jobs[id]
		for _, f := range typedFields {
			if !sameValue(j[f], coqls[id][f]) {
				t.Fatalf("record %s %s: job %#v, COQL %#v", id, f, j[f], coqls[id][f])
			}
			if r, ok := rests[id]; ok && !sameValue(j[f], r[f]) {
				t.Fatalf("record %s %s: job %#v, REST %#v", id, f, j[f], r[f])
			}
			switch j[f].(type) {
			case nil:
				nulls++
			case map[string]any:
				lookups++
			}
		}
		if _, ok := j["Annual_Revenue"].(json.Number); !ok {
			t.Fatalf("Annual_Revenue %#v, want a JSON number", j["Annual_Revenue"])
		}
		if _, ok := j["Locked__s"].(bool); !ok {
			t.Fatalf("Locked__s %#v, want a boolean", j["Locked__s"])
		}
	}
	if nulls == 0 || lookups == 0 {
		t.Fatalf("%d nulls and %d lookups compared: the records tell nothing", nulls, lookups)
	}
}

// TestBulkReadJobRowsMeanTheConditions: a job's rows are filtered to the
// conditions' one meaning (a Bulk Read job's not_equal keeps empty fields;
// COQL's, and the tools', do not): the job and COQL read the same ids.
func TestBulkReadJobRowsMeanTheConditions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{accounts: 200})
	ctx := context.Background()
	req := tiers.BulkReadRequest{Module: "Accounts", Fields: []string{"Account_Name"},
		Where: []tiers.Condition{{Field: "Description", Op: tiers.OpNotEqual, Values: []any{"no such note"}}}}
	var job, coql tierstest.Sink
	if _, err := e.tier.readJob(ctx, req, req.Fields, "", &job, tiers.BulkReadResult{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tier.BulkRead(ctx, req, &coql); err != nil {
		t.Fatal(err)
	}
	ids := func(recs []tiers.Record) []string {
		var out []string
		for _, r := range recs {
			out = append(out, r["id"].(string))
			if _, ok := r["Description"]; ok {
				t.Fatalf("record %v carries the condition field the caller did not ask for", r)
			}
		}
		slices.Sort(out)
		return out
	}
	j, c := ids(job.Records()), ids(coql.Records())
	if !slices.Equal(j, c) || len(j) == 0 || len(j) == 200 {
		t.Fatalf("job %d ids, COQL %d ids; want the same, some but not all", len(j), len(c))
	}
}

func TestCSVRecord(t *testing.T) {
	t.Parallel()
	types := map[string]string{"N": "integer", "D": "double", "B": "boolean", "L": "jsonobject", "M": "jsonarray", "S": "string"}
	head := []string{"id", "N", "D", "B", "L", "M", "S", "P.id", "P.name", "Q.id", "X"}
	got := csvRecord(head, []string{"12", "42", "1250000.5", "TRUE", "77", "a;b", "007", "9", "Nine", "", "free"}, types)
	want := tiers.Record{"id": "12", "N": json.Number("42"), "D": json.Number("1250000.5"), "B": true,
		"L": map[string]any{"id": "77"}, "M": []any{"a", "b"}, "S": "007", "P": map[string]any{"id": "9", "name": "Nine"},
		"Q": nil, "X": "free"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("csvRecord = %#v\nwant %#v", got, want)
	}
	odd := csvRecord([]string{"N", "D", "B"}, []string{"4.5", "1e", "yes"}, types)
	if odd["N"] != "4.5" || odd["D"] != "1e" || odd["B"] != "yes" {
		t.Fatalf("cells that do not fit their type stay text: %#v", odd)
	}
}
