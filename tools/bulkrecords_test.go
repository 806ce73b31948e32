package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// contactRecords makes the fake tier's bulk reads answer n Contacts with
// every field, Mobile included (as Zoho would when asked for it), and
// returns the requests it got.
func contactRecords(e *env, n int) *[]tiers.BulkReadRequest {
	var got []tiers.BulkReadRequest
	e.tier.OnBulkRead = func(_ context.Context, req tiers.BulkReadRequest, sink tiers.RecordSink) (tiers.BulkReadResult, error) {
		got = append(got, req)
		for i := range n {
			r := tiers.Record{"id": fmt.Sprint(5725767000002000000 + i), "Last_Name": fmt.Sprintf("Contact %d", i),
				"Email": fmt.Sprintf("c%d@example.com", i), "Mobile": "+1 555 0199"}
			if err := sink.Write(r); err != nil {
				return tiers.BulkReadResult{}, err
			}
		}
		return tiers.BulkReadResult{Count: n, Strategy: "coql", Calls: 1, Credits: 1}, nil
	}
	return &got
}

// TestBulkReadRecords: bulk_read_records sends the module in the org's
// spelling with the fields the caller may see (none denied in it), removes
// denied fields Zoho returns anyway, answers few records inline and many as
// a caller-bound resource, and names the module throughout.
func TestBulkReadRecords(t *testing.T) {
	t.Parallel()
	e := newRecordsEnv(t, 0)
	got := contactRecords(e, 3)
	res := e.call(t, profContactsOnly, "bulk_read_records", `{"module":"contacts","where":[{"field":"Lead_Source","op":"equals","value":"Web"}]}`)
	if res.IsError {
		t.Fatal(text(res))
	}
	req := (*got)[0]
	if req.Module != "Contacts" || len(req.Where) != 1 || slices.Contains(req.Fields, "Mobile") || !slices.Contains(req.Fields, "Email") {
		t.Errorf("request = %+v; want module Contacts, the condition, every field but the denied Mobile", req)
	}
	m := structured(t, res)
	recs, _ := m["records"].([]any)
	if m["module"] != "Contacts" || m["inline"] != true || m["count"] != float64(3) || len(recs) != 3 || m["strategy"] != "coql" {
		t.Fatalf("structured = %v", m)
	}
	for _, r := range recs {
		if _, leaked := r.(map[string]any)["Mobile"]; leaked {
			t.Errorf("a field denied in Contacts reached the agent: %v", r)
		}
	}
	if !strings.HasPrefix(text(res), "Read 3 Contacts records inline (strategy coql") {
		t.Errorf("text = %s", text(res))
	}
	// A profile denied nothing in the module asks for the fields it names.
	res = e.call(t, profAll, "bulk_read_records", `{"module":"Contacts","ids":["5725767000002000000"],"fields":["Last_Name","Mobile"]}`)
	if req := (*got)[1]; res.IsError || !slices.Equal(req.Fields, []string{"Last_Name", "Mobile"}) || !slices.Equal(req.IDs, []string{"5725767000002000000"}) {
		t.Errorf("named fields: %+v %s", req, text(res))
	}

	// Many records: a resource only this caller reads, every page redacted.
	e2 := newRecordsEnv(t, 0)
	contactRecords(e2, 23) // InlineLimit is 10 in tests
	res = e2.call(t, profContactsOnly, "bulk_read_records", `{"module":"Contacts"}`)
	m = structured(t, res)
	uri, _ := m["resource_uri"].(string)
	if res.IsError || m["inline"] != false || m["count"] != float64(23) || !strings.HasPrefix(uri, BulkURIPrefix) || m["records"] != nil {
		t.Fatalf("large read: %v %s", m, text(res))
	}
	if !strings.Contains(text(res), "Read 23 Contacts records") || !strings.Contains(text(res), "read_bulk_result") {
		t.Errorf("text = %s", text(res))
	}
	all := pageAll(t, e2, profContactsOnly, uri)
	if len(all) != 23 {
		t.Fatalf("%d records in the resource, want 23", len(all))
	}
	for _, r := range all {
		if _, leaked := r["Mobile"]; leaked || r["Last_Name"] == nil {
			t.Fatalf("resource record %v: a denied field leaked or a field is missing", r)
		}
	}
	if _, err := readResourceAs(t, e2, "token:other", profContactsOnly, uri); err == nil {
		t.Error("another caller read the result")
	}
}

// TestBulkUpdateRecords: bulk_update_records sends the module in the org's
// spelling on every update with the triggers, answers one outcome per
// record naming the module and get_record, and beyond the inline limit
// lists the failures with every outcome in a resource.
func TestBulkUpdateRecords(t *testing.T) {
	t.Parallel()
	e := newRecordsEnv(t, 0)
	var got tiers.BulkUpdateRequest
	e.tier.OnBulkUpdate = func(_ context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		got = req
		res := tiers.BulkUpdateResult{Strategy: "bulk-write-job", Calls: 4, Credits: 50}
		for i, u := range req.Updates {
			o := tiers.Outcome{ID: u.ID, Status: tiers.StatusSuccess}
			switch i {
			case 2:
				o = tiers.Outcome{ID: u.ID, Status: tiers.StatusError, Code: "INVALID_DATA", Message: "the id given seems to be invalid"}
			case 7:
				o = tiers.Outcome{ID: u.ID, Status: tiers.StatusNotSent}
			}
			res.Outcomes = append(res.Outcomes, o)
		}
		return res, nil
	}
	var ups []string
	for i := range 12 {
		ups = append(ups, fmt.Sprintf(`{"id":"%d","data":{"Stage":"Closed Won","Amount":%d}}`, 5725767000003000000+i, 1000+i))
	}
	res := e.call(t, profAll, "bulk_update_records", `{"module":"deals","trigger":[],"updates":[`+strings.Join(ups, ",")+`]}`)
	if got.Module != "Deals" || len(got.Updates) != 12 || got.Trigger == nil || len(got.Trigger) != 0 {
		t.Fatalf("request = %+v", got)
	}
	for _, u := range got.Updates {
		if u.Module != "Deals" || u.Trigger == nil || u.Data["Stage"] != "Closed Won" {
			t.Fatalf("update %+v: want module Deals, no triggers and its data", u)
		}
	}
	m := structured(t, res)
	results, _ := m["results"].([]any)
	uri, _ := m["resource_uri"].(string)
	if !res.IsError || m["module"] != "Deals" || m["total"] != float64(12) || m["succeeded"] != float64(10) || m["failed"] != float64(2) ||
		m["inline"] != false || len(results) != 2 || uri == "" || m["strategy"] != "bulk-write-job" {
		t.Fatalf("structured = %v", m)
	}
	if !strings.Contains(text(res), "10 of 12 Deals records updated, 2 failed") || !strings.Contains(text(res), "INVALID_DATA") {
		t.Errorf("text = %s", text(res))
	}
	outs := pageAll(t, e, profAll, uri)
	if len(outs) != 12 || outs[2]["code"] != "INVALID_DATA" || outs[7]["code"] != CodeNotSent || outs[0]["status"] != "success" {
		t.Errorf("every outcome: %v", outs)
	}

	// All succeed, few records: inline, and the summary names the module.
	res = e.call(t, profAll, "bulk_update_records", `{"module":"Projects","updates":[{"id":"1","data":{"Budget":5}},{"id":"2","data":{"Budget":6}}]}`)
	m = structured(t, res)
	if res.IsError || m["module"] != "Projects" || m["inline"] != true || m["succeeded"] != float64(2) {
		t.Errorf("small update: %v %s", m, text(res))
	}
	if !strings.HasPrefix(text(res), "Updated all 2 Projects records") {
		t.Errorf("text = %s", text(res))
	}
}

// TestBulkUpdateRecordsUnknownOutcome: a record whose outcome is unknown is
// to be read back with get_record (not get_account, the Account tools').
func TestBulkUpdateRecordsUnknownOutcome(t *testing.T) {
	t.Parallel()
	e := newRecordsEnv(t, 0)
	e.tier.OnBulkUpdate = func(_ context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		res := tiers.BulkUpdateResult{Strategy: "batched-put"}
		for _, u := range req.Updates {
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusUnknown})
		}
		return res, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassCanceled, Message: "ran out of time"}
	}
	res := e.call(t, profAll, "bulk_update_records", `{"module":"Contacts","updates":[{"id":"1","data":{"Last_Name":"A"}},{"id":"2","data":{"Last_Name":"B"}}]}`)
	m := structured(t, res)
	first, _ := m["results"].([]any)[0].(map[string]any)
	if !res.IsError || first["code"] != CodeOutcomeUnknown || !strings.Contains(fmt.Sprint(first["message"]), "read it back with get_record") {
		t.Fatalf("unknown outcome: %v %s", m, text(res))
	}
	if strings.Contains(text(res), "get_account") {
		t.Errorf("the advice names the Account tools: %s", text(res))
	}
}

// TestBulkRecordsJobHandle: records of bulk_update_records left pending on
// a Zoho job come back through get_bulk_job with their module.
func TestBulkRecordsJobHandle(t *testing.T) {
	t.Parallel()
	const job = "5725767000004000009"
	ft := newFakeTier(tiers.Bulk, 0)
	ft.OnBulkUpdate = func(_ context.Context, req tiers.BulkUpdateRequest) (tiers.BulkUpdateResult, error) {
		res := tiers.BulkUpdateResult{Strategy: "bulk-write-job"}
		for _, u := range req.Updates {
			res.Outcomes = append(res.Outcomes, tiers.Outcome{ID: u.ID, Status: tiers.StatusUnknown})
		}
		return res, &tiers.Error{Tier: tiers.Bulk, Class: tiers.ClassOutcomeUnknown, Code: "OUTCOME_UNKNOWN", Message: "job still running", PendingJob: job}
	}
	at := &awaitingTier{Tier: ft}
	e := newEnvWithTiers(t, ft, []tiers.Tier{at}, withMeta(ft))
	res := e.call(t, profAll, "bulk_update_records", `{"module":"Deals","updates":[{"id":"3652397000000000000","data":{"Amount":1}},{"id":"3652397000000000001","data":{"Amount":2}}]}`)
	m := structured(t, res)
	handle, _ := m["job_id"].(string)
	if !res.IsError || len(handle) != 32 || m["pending"] != float64(2) || m["module"] != "Deals" {
		t.Fatalf("answer %v: %s", m, text(res))
	}
	at.done.Store(true)
	res = e.call(t, profAll, "get_bulk_job", fmt.Sprintf(`{"job_id":%q}`, handle))
	m = structured(t, res)
	if m["state"] != "finished" || m["module"] != "Deals" || m["succeeded"] != float64(1) || m["failed"] != float64(1) {
		t.Fatalf("finished: %v %s", m, text(res))
	}
	if !strings.Contains(text(res), "1 of 2 Deals records updated") {
		t.Errorf("text = %s", text(res))
	}
	for _, c := range at.Calls() {
		if req, ok := c.Req.(tiers.BulkUpdateRequest); ok && req.Module != "Deals" {
			t.Errorf("a call for module %q", req.Module)
		}
	}
}
