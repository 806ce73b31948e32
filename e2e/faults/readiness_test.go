package faults

import (
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/zohosim"
)

// Issue 10: the paths where the emulator is as strict as Zoho's documents,
// driven through the product's tools with the shipped default config.

// TestBulkWriteThroughDownloadHost: a bulk update of 6,000 records (above
// the batched-PUT crossover, so a Bulk Write job) reads its per-record
// results from the job's absolute download_url, on the emulator's download
// host — another origin, which answers 401 without Zoho's token. Every
// record reports success, holds its value and was written exactly once.
func TestBulkWriteThroughDownloadHost(t *testing.T) {
	if testing.Short() {
		t.Skip("6,000-record job")
	}
	t.Parallel()
	const n = 6000
	h := start(t, opts{Accounts: n + 10, Defaults: true})
	h.warmUp()
	ids := h.ids(0, n)
	want := func(id string) string { return "download host " + id }
	ups := make([]map[string]any, n)
	for i, id := range ids {
		ups[i] = map[string]any{"id": id, "data": map[string]any{"Description": want(id)}}
	}
	h.sim.ResetLog()
	r := h.call(profOps, "bulk_update_accounts", map[string]any{"updates": ups})
	if r.err != nil || r.isErr {
		t.Fatalf("bulk_update_accounts: %s", r.dump)
	}
	var out writeOut
	mustDecode(t, r, &out)
	if unknown := verifyWriteOutcomes(t, h.sim, out, ids, want, r, false); unknown != 0 || out.Succeeded != n {
		t.Fatalf("%d succeeded, %d unknown; want all %d to succeed (%s)", out.Succeeded, unknown, n, r.dump)
	}
	for _, id := range ids {
		if w := h.sim.RecordWrites(id); w != 1 {
			t.Fatalf("record %s written %d times, want once", id, w)
		}
	}
	if r.route.Tier != tBulk || len(r.route.Attempts) != 1 {
		t.Errorf("route %s, want BULK at the first attempt", r.route)
	}
	var downloads, refused int
	for _, q := range h.sim.Requests() {
		if q.Surface == zohosim.SurfaceDownload {
			downloads++
			if q.Status != 200 {
				refused++
			}
		}
	}
	if downloads == 0 || refused != 0 {
		t.Errorf("%d requests to the download host, %d refused; want the result read there with the token", downloads, refused)
	}
}
