package tierstest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// BulkOrg is what CheckModuleBulk knows of the org behind a tier: the ids of
// the emulator's (zohosim) seeded records of Contacts, Deals and Projects.
type BulkOrg struct {
	IDs map[string][]string
}

// bulkModule is how CheckModuleBulk reads and writes one module: the fields
// it reads (of every JSON type the module has), a condition field, an
// update that is valid and one whose picklist value Zoho refuses.
type bulkModule struct {
	module string
	fields []string
	where  string // a picklist field to filter on
	good   func(i int) tiers.Record
	bad    tiers.Record
}

var bulkModules = []bulkModule{
	{module: "Contacts", where: "Lead_Source",
		fields: []string{"Last_Name", "First_Name", "Email", "Lead_Source", "Account_Name", "Date_of_Birth", "Email_Opt_Out", "Created_Time"},
		good: func(i int) tiers.Record {
			return tiers.Record{"Title": fmt.Sprintf("Bulk %d", i), "Lead_Source": "Cold Call"}
		},
		bad: tiers.Record{"Lead_Source": "Not A Source"}},
	{module: "Deals", where: "Stage",
		fields: []string{"Deal_Name", "Stage", "Amount", "Closing_Date", "Probability", "Account_Name", "Contact_Name", "Created_Time"},
		good: func(i int) tiers.Record {
			return tiers.Record{"Stage": "Closed Won", "Amount": json.Number(fmt.Sprintf("%d.5", 1000+i)), "Next_Step": fmt.Sprintf("Bulk %d", i)}
		},
		bad: tiers.Record{"Stage": "Not A Stage"}},
	{module: "Projects", where: "Status",
		fields: []string{"Name", "Project_Code", "Status", "Budget", "Hours", "Team_Size", "Start_Date", "Billable", "Tech_Stack", "Account"},
		good: func(i int) tiers.Record {
			return tiers.Record{"Status": "On Hold", "Team_Size": json.Number(fmt.Sprint(3 + i)), "Description": fmt.Sprintf("Bulk %d", i)}
		},
		bad: tiers.Record{"Status": "Not A Status"}},
}

// SameValue reports whether two reads of one field agree: null with null,
// numbers by value, lookups by id (a Bulk Read job's carry no name), the
// rest equal.
func SameValue(a, b any) bool {
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

// CheckModuleBulk runs the same bulk checks against every tier that serves
// the emulator's org, on Contacts, Deals and the custom module Projects:
// a bulk read of every record, by ids and by a condition, each record typed
// as tr's Get answers it; and a bulk update of three records, one refused
// by Zoho on its own, the others read back. It returns the strategies the
// tier reported, reads then writes, so that the caller can check which
// paths ran (COQL or a Bulk Read job, PUTs or a Bulk Write job).
func CheckModuleBulk(t *testing.T, tr tiers.Tier, org BulkOrg) (reads, writes []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tiers.WithScopes(context.Background(), []string{"read", "write", "bulk"}), 60*time.Second)
	defer cancel()
	for _, m := range bulkModules {
		ids := org.IDs[m.module]
		if len(ids) < 6 {
			t.Fatalf("%s: the org has %d records, want at least 6", m.module, len(ids))
		}
		var all Sink
		res, err := tr.BulkRead(ctx, tiers.BulkReadRequest{Module: m.module, Fields: m.fields}, &all)
		if err != nil {
			t.Fatalf("%s: bulk read: %v", m.module, err)
		}
		reads = append(reads, res.Strategy)
		got := map[string]tiers.Record{}
		for _, r := range all.Records() {
			id, _ := r["id"].(string)
			got[id] = r
			for k := range r {
				if k != "id" && !slices.Contains(m.fields, k) {
					t.Errorf("%s: bulk read record %s has field %s, not asked for", m.module, id, k)
				}
			}
		}
		if res.Count != len(ids) || len(got) != len(ids) {
			t.Fatalf("%s: bulk read %d records (%d distinct, count %d), want %d", m.module, len(all.Records()), len(got), res.Count, len(ids))
		}
		// The first records and the last: a read that changes path midway
		// (COQL, then a job for the rest) serves them differently.
		typed := 0
		sorted := slices.Sorted(slices.Values(ids))
		for _, id := range append(sorted[:3:3], sorted[len(sorted)-3:]...) {
			want, err := tr.Get(ctx, tiers.GetRequest{Module: m.module, ID: id, Fields: m.fields})
			if err != nil {
				t.Fatalf("%s: get %s: %v", m.module, id, err)
			}
			for _, f := range m.fields {
				if !SameValue(got[id][f], want[f]) {
					t.Errorf("%s %s %s: bulk read %#v, get %#v", m.module, id, f, got[id][f], want[f])
				}
				if _, isText := want[f].(string); !isText && want[f] != nil {
					typed++
				}
			}
		}
		if typed == 0 {
			t.Errorf("%s: no typed value was compared", m.module)
		}

		var some Sink
		pick := []string{ids[4], ids[1], ids[3]}
		if _, err := tr.BulkRead(ctx, tiers.BulkReadRequest{Module: m.module, IDs: pick, Fields: m.fields[:2]}, &some); err != nil {
			t.Fatalf("%s: bulk read by ids: %v", m.module, err)
		}
		var gotIDs []string
		for _, r := range some.Records() {
			gotIDs = append(gotIDs, r["id"].(string))
		}
		slices.Sort(gotIDs)
		if want := slices.Sorted(slices.Values(pick)); !slices.Equal(gotIDs, want) {
			t.Errorf("%s: bulk read by ids %v, got %v", m.module, want, gotIDs)
		}

		var value any
		for _, id := range ids {
			if v, ok := got[id][m.where].(string); ok && value == nil {
				value = v
			}
		}
		want := 0
		for _, r := range got {
			if r[m.where] == value {
				want++
			}
		}
		var matched Sink
		if _, err := tr.BulkRead(ctx, tiers.BulkReadRequest{Module: m.module, Fields: []string{m.where},
			Where: []tiers.Condition{{Field: m.where, Op: tiers.OpEquals, Values: []any{value}}}}, &matched); err != nil {
			t.Fatalf("%s: bulk read where %s = %v: %v", m.module, m.where, value, err)
		}
		if len(matched.Records()) != want {
			t.Errorf("%s: bulk read where %s = %v: %d records, want %d", m.module, m.where, value, len(matched.Records()), want)
		}
		for _, r := range matched.Records() {
			if r[m.where] != value {
				t.Errorf("%s: bulk read where %s = %v answered %v", m.module, m.where, value, r)
			}
		}

		ups := []tiers.UpdateRequest{
			{Module: m.module, ID: ids[2], Data: m.good(0)},
			{Module: m.module, ID: ids[3], Data: m.bad},
			{Module: m.module, ID: ids[5], Data: m.good(1)},
		}
		ur, err := tr.BulkUpdate(ctx, tiers.BulkUpdateRequest{Module: m.module, Updates: ups})
		if err != nil {
			t.Fatalf("%s: bulk update: %v", m.module, err)
		}
		writes = append(writes, ur.Strategy)
		if len(ur.Outcomes) != 3 {
			t.Fatalf("%s: bulk update: %d outcomes for 3 records", m.module, len(ur.Outcomes))
		}
		for i, o := range ur.Outcomes {
			if o.ID != ups[i].ID {
				t.Errorf("%s: outcome %d is for %s, want %s", m.module, i, o.ID, ups[i].ID)
			}
		}
		if o := ur.Outcomes[1]; o.Status != tiers.StatusError || o.Code != "INVALID_DATA" {
			t.Errorf("%s: the refused record's outcome %+v, want INVALID_DATA", m.module, o)
		}
		if rec, err := tr.Get(ctx, tiers.GetRequest{Module: m.module, ID: ids[3], Fields: []string{m.where}}); err != nil || rec[m.where] != got[ids[3]][m.where] {
			t.Errorf("%s: the refused record changed: %v %v", m.module, rec, err)
		}
		for _, i := range []int{0, 2} {
			if o := ur.Outcomes[i]; o.Status != tiers.StatusSuccess {
				t.Errorf("%s: outcome %d = %+v, want success", m.module, i, o)
				continue
			}
			var fields []string
			for k := range ups[i].Data {
				fields = append(fields, k)
			}
			rec, err := tr.Get(ctx, tiers.GetRequest{Module: m.module, ID: ups[i].ID, Fields: fields})
			if err != nil {
				t.Fatalf("%s: read back %s: %v", m.module, ups[i].ID, err)
			}
			for k, v := range ups[i].Data {
				if !SameValue(rec[k], v) && fmt.Sprint(rec[k]) != fmt.Sprint(v) {
					t.Errorf("%s %s after the bulk update: %s = %#v, want %#v", m.module, ups[i].ID, k, rec[k], v)
				}
			}
		}
	}
	return reads, writes
}
