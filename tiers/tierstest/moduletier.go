package tierstest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// ModuleOrg is what CheckModuleTier knows of the org behind a tier: the
// emulator's (zohosim) modules, with Contacts and Deals linked to Accounts
// and a custom module Projects.
type ModuleOrg struct {
	// AccountID is an account with at least two contacts.
	AccountID string
	// RelatedLists is false when the tier cannot read related-list metadata
	// (tier 1 against an upstream without getRelatedLists): the call must
	// then be ClassUnsupported.
	RelatedLists bool
}

// CheckModuleTier runs the same checks of tiers.ModuleTier against every
// tier that serves the emulator's org: module and field metadata, related
// lists, related records paged one by one, and a create of two records of
// which Zoho refuses one (read back through rd).
func CheckModuleTier(t *testing.T, mt tiers.ModuleTier, rd tiers.Tier, org ModuleOrg) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tiers.WithScopes(context.Background(), []string{"read", "write"}), 30*time.Second)
	defer cancel()

	md, err := mt.Metadata(ctx, tiers.MetadataRequest{Kind: tiers.MetaModules})
	if err != nil {
		t.Fatalf("modules: %v", err)
	}
	byName := map[string]tiers.ModuleMeta{}
	for _, m := range md.Modules {
		byName[m.APIName] = m
	}
	for _, n := range []string{"Accounts", "Contacts", "Deals", "Projects"} {
		if m, ok := byName[n]; !ok || !m.APISupported || m.PluralLabel == "" {
			t.Errorf("modules: %s missing or not API supported: %+v", n, m)
		}
	}
	if !byName["Projects"].Custom || byName["Contacts"].Custom {
		t.Errorf("modules: custom flags wrong: Projects %+v, Contacts %+v", byName["Projects"], byName["Contacts"])
	}

	md, err = mt.Metadata(ctx, tiers.MetadataRequest{Kind: tiers.MetaFields, Module: "Contacts"})
	if err != nil {
		t.Fatalf("fields: %v", err)
	}
	fields := map[string]tiers.FieldMeta{}
	for _, f := range md.Fields {
		fields[f.APIName] = f
	}
	if f := fields["Last_Name"]; !f.Required || f.ReadOnly || f.DataType != "text" || f.Label == "" {
		t.Errorf("Contacts.Last_Name = %+v, want a required text field", f)
	}
	if f := fields["Email"]; !f.Unique {
		t.Errorf("Contacts.Email = %+v, want unique", f)
	}
	if f := fields["Account_Name"]; f.Lookup != "Accounts" {
		t.Errorf("Contacts.Account_Name = %+v, want a lookup to Accounts", f)
	}
	if f := fields["Full_Name"]; !f.ReadOnly {
		t.Errorf("Contacts.Full_Name = %+v, want read-only", f)
	}
	if f := fields["Lead_Source"]; len(f.Picklist) == 0 || f.Picklist[0].Display == "" {
		t.Errorf("Contacts.Lead_Source = %+v, want picklist values", f)
	}
	if _, err := mt.Metadata(ctx, tiers.MetadataRequest{Kind: tiers.MetaFields, Module: "No_Such_Module"}); tiers.Classify(err) != tiers.ClassVerdict {
		t.Errorf("fields of an unknown module: %v, want a verdict", err)
	}

	md, err = mt.Metadata(ctx, tiers.MetadataRequest{Kind: tiers.MetaRelatedLists, Module: "Accounts"})
	if !org.RelatedLists {
		if tiers.Classify(err) != tiers.ClassUnsupported {
			t.Errorf("related lists: %v, want ClassUnsupported", err)
		}
	} else if err != nil {
		t.Errorf("related lists: %v", err)
	} else {
		lists := map[string]string{}
		for _, rl := range md.RelatedLists {
			lists[rl.APIName] = rl.Module
		}
		if lists["Contacts"] != "Contacts" || lists["Deals"] != "Deals" {
			t.Errorf("related lists of Accounts = %v, want Contacts and Deals", md.RelatedLists)
		}
	}

	var seen []string
	tok := ""
	for page := 0; page < 5; page++ {
		pg, err := mt.Related(ctx, tiers.RelatedRequest{Module: "Accounts", ID: org.AccountID, List: "Contacts",
			Fields: []string{"Last_Name", "Account_Name"}, Limit: 1, PageToken: tok})
		if err != nil {
			t.Fatalf("related page %d: %v", page, err)
		}
		for _, r := range pg.Records {
			id, _ := r["id"].(string)
			if slices.Contains(seen, id) || r["Last_Name"] == nil || r["Email"] != nil {
				t.Errorf("related page %d: record %v repeated, or not just the fields asked for", page, r)
			}
			if acct, _ := r["Account_Name"].(map[string]any); acct["id"] != org.AccountID {
				t.Errorf("related contact %v is not the account's", r)
			}
			seen = append(seen, id)
		}
		if len(pg.Records) > 1 {
			t.Errorf("related page %d has %d records, want at most 1", page, len(pg.Records))
		}
		if !pg.MoreRecords {
			break
		}
		tok = pg.NextPageToken
	}
	if len(seen) < 2 {
		t.Errorf("related contacts of %s: %v, want at least 2", org.AccountID, seen)
	}
	if _, err := mt.Related(ctx, tiers.RelatedRequest{Module: "Accounts", ID: org.AccountID, List: "Deals",
		Fields: []string{"Deal_Name"}, PageToken: tok}); tiers.Classify(err) != tiers.ClassVerdict {
		t.Errorf("a page token of another related list: %v, want a verdict", err)
	}

	email := fmt.Sprintf("tier-%d@example.com", time.Now().UnixNano())
	res, err := mt.Create(ctx, tiers.CreateRequest{Module: "Contacts", Records: []tiers.Record{
		{"Last_Name": "Tier Check", "Email": email},
		{"First_Name": "No last name"},
	}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if len(res.Outcomes) != 2 || res.Calls != 1 {
		t.Fatalf("create: %+v, want 2 outcomes from 1 call", res)
	}
	ok, bad := res.Outcomes[0], res.Outcomes[1]
	if ok.Status != tiers.StatusSuccess || !tiers.IsRecordID(ok.ID) {
		t.Errorf("created record: %+v", ok)
	}
	if bad.Status != tiers.StatusError || bad.Code != "MANDATORY_NOT_FOUND" || bad.ID != "" || bad.Details["api_name"] != "Last_Name" {
		t.Errorf("refused record: %+v, want MANDATORY_NOT_FOUND naming Last_Name", bad)
	}
	if rec, err := rd.Get(ctx, tiers.GetRequest{Module: "Contacts", ID: ok.ID, Fields: []string{"Last_Name", "Email"}}); err != nil || rec["Email"] != email {
		t.Errorf("created record read back: %v, %v", rec, err)
	}
	res, err = mt.Create(ctx, tiers.CreateRequest{Module: "Contacts", Records: []tiers.Record{{"Last_Name": "Again", "Email": email}}})
	if err != nil || res.Outcomes[0].Code != "DUPLICATE_DATA" || res.Outcomes[0].Status != tiers.StatusError {
		t.Errorf("duplicate create: %+v, %v; want a DUPLICATE_DATA outcome", res, err)
	}
	res, err = mt.Create(ctx, tiers.CreateRequest{Module: "Contacts", Records: []tiers.Record{{"id": "1", "Last_Name": "x"}}})
	if tiers.Classify(err) != tiers.ClassVerdict || res.Outcomes[0].Status != tiers.StatusNotSent {
		t.Errorf("create with an id: %+v, %v; want a verdict before sending", res, err)
	}
}
