package metadata

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// org is the test org: Contacts and a custom Projects module.
var org = tierstest.OrgMeta{
	Modules: []tiers.ModuleMeta{
		{APIName: "Home", PluralLabel: "Home"},
		{APIName: "Contacts", SingularLabel: "Contact", PluralLabel: "Contacts", APISupported: true, Creatable: true, Editable: true},
		{APIName: "Projects", SingularLabel: "Project", PluralLabel: "Projects", APISupported: true, Creatable: true, Editable: true, Custom: true},
	},
	Fields: map[string][]tiers.FieldMeta{
		"Contacts": {
			{APIName: "Last_Name", Label: "Last Name", DataType: "text", JSONType: "string", Length: 20, Required: true},
			{APIName: "First_Name", Label: "First Name", DataType: "text", JSONType: "string", Length: 40},
			{APIName: "Email", Label: "Email", DataType: "email", JSONType: "string", Unique: true},
			{APIName: "Full_Name", Label: "Contact Name", DataType: "text", JSONType: "string", ReadOnly: true},
			{APIName: "Lead_Source", Label: "Lead Source", DataType: "picklist", JSONType: "string",
				Picklist: []tiers.PicklistValue{{Display: "-None-", Actual: "-None-"}, {Display: "Web", Actual: "Web"}, {Display: "Trade Show", Actual: "Trade_Show"}}},
			{APIName: "Account_Name", Label: "Account Name", DataType: "lookup", JSONType: "jsonobject", Lookup: "Accounts"},
			{APIName: "Date_of_Birth", Label: "Date of Birth", DataType: "date", JSONType: "string"},
			{APIName: "Email_Opt_Out", Label: "Email Opt Out", DataType: "boolean", JSONType: "boolean"},
			{APIName: "Created_Time", Label: "Created Time", DataType: "datetime", JSONType: "string", ReadOnly: true},
		},
		"Projects": {
			{APIName: "Name", Label: "Project Name", DataType: "text", JSONType: "string", Required: true},
			{APIName: "Budget", Label: "Budget", DataType: "currency", JSONType: "double"},
			{APIName: "Team_Size", Label: "Team Size", DataType: "integer", JSONType: "integer"},
			{APIName: "Go_Live", Label: "Go-Live", DataType: "datetime", JSONType: "string"},
			{APIName: "Tech_Stack", Label: "Tech Stack", DataType: "multiselectpicklist", JSONType: "jsonarray",
				Picklist: []tiers.PicklistValue{{Display: "Go", Actual: "Go"}, {Display: "Rust", Actual: "Rust"}}},
			{APIName: "Formula_1", Label: "Formula", DataType: "formula", JSONType: "double", ReadOnly: true},
			{APIName: "Odd", Label: "Odd", DataType: "somethingnew", JSONType: "jsonobject"},
		},
	},
	RelatedLists: map[string][]tiers.RelatedListMeta{"Contacts": {{APIName: "Deals", Label: "Deals", Module: "Deals"}}},
}

// counting wraps a fake tier's Metadata as a Fetch that counts calls by
// kind and module.
type counting struct {
	f     *tierstest.Tier
	mu    sync.Mutex
	calls map[string]int
}

func newCounting() *counting {
	f := tierstest.NewTier(tiers.REST, nil)
	f.Meta = org
	return &counting{f: f, calls: map[string]int{}}
}

func (c *counting) fetch(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
	c.mu.Lock()
	c.calls[string(req.Kind)+":"+req.Module]++
	c.mu.Unlock()
	return c.f.Metadata(ctx, req)
}

func (c *counting) n(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[k]
}

func TestCacheTTLAndRefresh(t *testing.T) {
	t.Parallel()
	clock := tierstest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	f := newCounting()
	c := New(Config{Fetch: f.fetch, TTL: time.Minute, MinRefresh: 10 * time.Second, Now: clock.Now})
	ctx := context.Background()

	m, err := c.Module(ctx, "contacts") // any case
	if err != nil || m.APIName != "Contacts" || len(m.Fields) != 9 || len(m.Related) != 1 {
		t.Fatalf("Module(contacts) = %+v, %v", m, err)
	}
	if _, err := c.Module(ctx, "Contacts"); err != nil {
		t.Fatal(err)
	}
	if f.n("modules:") != 1 || f.n("fields:Contacts") != 1 || f.n("related_lists:Contacts") != 1 {
		t.Errorf("a fresh answer was read again: %v", f.calls)
	}
	if c.Refresh("Contacts") {
		t.Error("Refresh within MinRefresh of the read did not refuse")
	}
	clock.Advance(11 * time.Second)
	if !c.Refresh("Contacts") {
		t.Error("Refresh after MinRefresh refused")
	}
	c.Module(ctx, "Contacts")
	if f.n("fields:Contacts") != 2 || f.n("modules:") != 1 {
		t.Errorf("after Refresh: %v, want the fields read again and nothing else", f.calls)
	}
	clock.Advance(time.Minute)
	c.Module(ctx, "Contacts")
	if f.n("fields:Contacts") != 3 || f.n("modules:") != 2 {
		t.Errorf("after the TTL: %v, want everything read again", f.calls)
	}
}

func TestLookupUnknownModule(t *testing.T) {
	t.Parallel()
	clock := tierstest.NewClock(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	f := newCounting()
	c := New(Config{Fetch: f.fetch, Now: clock.Now})
	ctx := context.Background()
	if _, err := c.Lookup(ctx, "Contacts"); err != nil {
		t.Fatal(err)
	}
	_, err := c.Lookup(ctx, "Home") // not served by the records API
	var ue *UnknownModuleError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `module "Home" is not a module of this Zoho org; the modules are Contacts, Projects`) {
		t.Errorf("Lookup(Home) = %v", err)
	}
	if f.n("modules:") != 1 {
		t.Errorf("an unknown module read the list again within MinRefresh: %v", f.calls)
	}
	// A module created in Zoho since: found once MinRefresh has passed.
	f.f.Meta.Modules = append(append([]tiers.ModuleMeta(nil), org.Modules...), tiers.ModuleMeta{APIName: "Invoices_X", APISupported: true})
	clock.Advance(time.Minute)
	if m, err := c.Lookup(ctx, "invoices_x"); err != nil || m.APIName != "Invoices_X" {
		t.Errorf("a new module: %+v, %v", m, err)
	}
}

func TestSingleFlight(t *testing.T) {
	t.Parallel()
	var fetches atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	f := newCounting()
	c := New(Config{Fetch: func(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
		if req.Kind == tiers.MetaModules {
			fetches.Add(1)
			select {
			case started <- struct{}{}:
			default:
			}
			<-release
		}
		return f.fetch(ctx, req)
	}})
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	// One caller gives up while the read is under way: the others still
	// get the answer.
	quitter, quit := context.WithCancel(context.Background())
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := c.Modules(quitter); !errors.Is(err, context.Canceled) {
			errs <- errors.New("the canceled caller did not get its cancellation")
		}
	}()
	<-started
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ms, err := c.Modules(context.Background())
			if err != nil || len(ms) != 2 {
				errs <- errors.New("a waiting caller got no modules")
			}
		}()
	}
	quit()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := fetches.Load(); got != 1 {
		t.Errorf("%d reads of the modules list for %d concurrent callers, want 1", got, n+1)
	}
}

func TestFailuresAreNotCachedAndRelatedListsAreOptional(t *testing.T) {
	t.Parallel()
	f := newCounting()
	fail := atomic.Bool{}
	fail.Store(true)
	c := New(Config{Fetch: func(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
		if req.Kind == tiers.MetaRelatedLists {
			return tiers.Metadata{}, &tiers.Error{Tier: tiers.REST, Class: tiers.ClassAuth, Code: "OAUTH_SCOPE_MISMATCH"}
		}
		if fail.Load() {
			return tiers.Metadata{}, &tiers.Error{Tier: tiers.REST, Class: tiers.ClassUnavailable, Message: "down"}
		}
		return f.fetch(ctx, req)
	}})
	if _, err := c.Module(context.Background(), "Contacts"); err == nil {
		t.Fatal("a failed read gave no error")
	}
	fail.Store(false)
	m, err := c.Module(context.Background(), "Contacts")
	if err != nil || m.Related != nil || m.RelatedErr == nil || len(m.Fields) == 0 {
		t.Errorf("related lists unreadable: %+v, %v; want fields and RelatedErr", m, err)
	}
	if _, _, known := m.RelatedList("Deals"); known {
		t.Error("RelatedList says the lists are known")
	}
}

func TestIsFieldVerdict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err   error
		field string
	}{
		{&tiers.Error{Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: "the field api name given seems to be invalid", Details: map[string]any{"api_name": "Rating_X"}}, "Rating_X"},
		{&tiers.Error{Class: tiers.ClassVerdict, Code: "INVALID_DATA", Message: "invalid data", Details: map[string]any{"api_name": "Rating"}}, ""},
		{&tiers.Error{Class: tiers.ClassVerdict, Code: "MANDATORY_NOT_FOUND", Message: "required field not found", Details: map[string]any{"api_name": "Last_Name"}}, ""},
		{&tiers.Error{Class: tiers.ClassUnavailable, Code: "INVALID_DATA", Message: "field", Details: map[string]any{"api_name": "x"}}, ""},
		{errors.New("other"), ""},
	}
	for _, tt := range tests {
		f, ok := IsFieldVerdict(tt.err)
		if f != tt.field || ok != (tt.field != "") {
			t.Errorf("IsFieldVerdict(%v) = %q %v, want %q", tt.err, f, ok, tt.field)
		}
	}
}
