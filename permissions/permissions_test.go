package permissions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func hash(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

var specExample = `
default_profile: reader            # stdio uses --profile, else this
profiles:
  reader:  { scopes: [read, monitor] }
  sales:   { scopes: [read, write], fields: { deny: [Annual_Revenue] } }
  ops:     { scopes: [read, write, bulk, monitor, admin] }
tokens:
  - { profile: sales, sha256: "` + hash("sales-token") + `" }
  - { profile: ops, sha256: "` + strings.ToUpper(hash("ops-token")) + `" }
`

func TestParseSpecExample(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.DefaultProfile().Name; got != "reader" {
		t.Errorf("default profile = %q, want reader", got)
	}
	sales, ok := p.Profile("sales")
	if !ok {
		t.Fatal("no sales profile")
	}
	if !sales.Allows(ScopeRead, ScopeWrite) || sales.Allows(ScopeBulk) || sales.Allows(ScopeRead, ScopeAdmin) {
		t.Errorf("sales scopes wrong: %v", sales.Scopes)
	}
	if !sales.Denied("Annual_Revenue") || !sales.Denied("annual_revenue") || !sales.Denied("ANNUAL_REVENUE") || sales.Denied("Account_Name") {
		t.Errorf("sales deny list wrong: %v", sales.DenyFields)
	}
	if !p.HasTokens() {
		t.Error("HasTokens = false")
	}
	if _, ok := p.Profile("Sales"); ok {
		t.Error("profile names must be case-sensitive")
	}
	if got := len(p.Profiles()); got != 3 {
		t.Errorf("Profiles() has %d, want 3", got)
	}
}

func TestProfileForToken(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bearer, want string
	}{
		{name: "sales token", bearer: "sales-token", want: "sales"},
		{name: "uppercase hash in file still matches", bearer: "ops-token", want: "ops"},
		{name: "unknown token", bearer: "nope", want: ""},
		{name: "empty token", bearer: "", want: ""},
		{name: "the hash itself is not a token", bearer: hash("sales-token"), want: ""},
		{name: "prefix of a token", bearer: "sales-toke", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pr, ok := p.ProfileForToken(tc.bearer)
			if (tc.want != "") != ok {
				t.Fatalf("ok = %v, want %v", ok, tc.want != "")
			}
			if ok && pr.Name != tc.want {
				t.Errorf("profile = %q, want %q", pr.Name, tc.want)
			}
		})
	}
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	good := hash("x")
	tests := []struct {
		name string
		doc  string
		want []string // substrings, each must appear in some problem
	}{
		{name: "unknown top-level key", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}}\nprofile: x\n",
			want: []string{`line 3: unknown key "profile" at the top level; allowed keys are default_profile, profiles, tokens`}},
		{name: "unknown profile key", doc: "default_profile: a\nprofiles:\n  a: {scopes: [read], deny: [X]}\n",
			want: []string{`unknown key "deny" in a profile; allowed keys are scopes, modules, fields`}},
		{name: "unknown fields key", doc: "default_profile: a\nprofiles:\n  a: {scopes: [read], fields: {allow: [X]}}\n",
			want: []string{`unknown key "allow" in a profile's fields; allowed keys are deny`}},
		{name: "unknown token key", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}}\ntokens:\n  - {profile: a, sha256: " + good + ", token: secret}\n",
			want: []string{`unknown key "token" in a tokens entry`}},
		{name: "unknown scope", doc: "default_profile: a\nprofiles: {a: {scopes: [read, wrte]}}\n",
			want: []string{`profile "a": unknown scope "wrte"; valid scopes are read, write, bulk, monitor, admin`}},
		{name: "scope case-sensitive", doc: "default_profile: a\nprofiles: {a: {scopes: [Read]}}\n",
			want: []string{`unknown scope "Read"`}},
		{name: "no scopes", doc: "default_profile: a\nprofiles: {a: {}}\n",
			want: []string{`profile "a" has no scopes`}},
		{name: "duplicate profile", doc: "default_profile: a\nprofiles:\n  a: {scopes: [read]}\n  a: {scopes: [write]}\n",
			want: []string{`line 4: key "a" is defined twice (first at line 3)`}},
		{name: "token with unknown profile", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}}\ntokens:\n  - {profile: b, sha256: " + good + "}\n",
			want: []string{`tokens entry 1: profile "b" is not defined under profiles`}},
		{name: "token without profile", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}}\ntokens:\n  - {sha256: " + good + "}\n",
			want: []string{`tokens entry 1: profile is missing`}},
		{name: "sha256 too short", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}}\ntokens:\n  - {profile: a, sha256: abc}\n",
			want: []string{`tokens entry 1: sha256 must be 64 hex digits`}},
		{name: "sha256 not hex", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}}\ntokens:\n  - {profile: a, sha256: " + strings.Repeat("z", 64) + "}\n",
			want: []string{`tokens entry 1: sha256 must be 64 hex digits`}},
		{name: "duplicate token hash", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}, b: {scopes: [write]}}\ntokens:\n  - {profile: a, sha256: " + good + "}\n  - {profile: b, sha256: " + strings.ToUpper(good) + "}\n",
			want: []string{`tokens entry 2: same sha256 as tokens entry 1`}},
		{name: "default_profile missing", doc: "profiles: {a: {scopes: [read]}}\n",
			want: []string{`default_profile is missing`}},
		{name: "default_profile undefined", doc: "default_profile: z\nprofiles: {a: {scopes: [read]}}\n",
			want: []string{`default_profile "z" is not defined under profiles`}},
		{name: "deny field not an API name", doc: "default_profile: a\nprofiles: {a: {scopes: [read], fields: {deny: [Annual Revenue, 1x]}}}\n",
			want: []string{`deny field "Annual Revenue" is not a Zoho field API name`, `deny field "1x" is not a Zoho field API name`}},
		{name: "deny id", doc: "default_profile: a\nprofiles: {a: {scopes: [read], fields: {deny: [id]}}}\n",
			want: []string{`the field id cannot be denied`}},
		{name: "modules empty", doc: "default_profile: a\nprofiles: {a: {scopes: [read], modules: []}}\n",
			want: []string{`profile "a": modules is empty; list the modules it may touch`}},
		{name: "module not an API name", doc: "default_profile: a\nprofiles: {a: {scopes: [read], modules: [Accounts, 'Sales Orders']}}\n",
			want: []string{`profile "a": module "Sales Orders" is not a Zoho module API name`}},
		{name: "deny_in key not a module", doc: "default_profile: a\nprofiles: {a: {scopes: [read], fields: {deny_in: {'Con tacts': [Email]}}}}\n",
			want: []string{`fields.deny_in key "Con tacts" is not a Zoho module API name`}},
		{name: "deny_in module outside the list", doc: "default_profile: a\nprofiles: {a: {scopes: [read], modules: [Accounts], fields: {deny_in: {Contacts: [Email]}}}}\n",
			want: []string{`fields.deny_in names module Contacts, which the profile's modules do not list`}},
		{name: "deny_in field not an API name", doc: "default_profile: a\nprofiles: {a: {scopes: [read], fields: {deny_in: {Contacts: [E mail, id]}}}}\n",
			want: []string{`deny field of Contacts "E mail" is not a Zoho field API name`, `the field id cannot be denied`}},
		{name: "empty file", doc: "",
			want: []string{`profiles is missing or empty`, `default_profile is missing`}},
		{name: "wrong type", doc: "default_profile: a\nprofiles: {a: {scopes: read}}\n",
			want: []string{"line 2: expected a list such as [read, monitor], got `read`", `profile "a" has no scopes`}},
		{name: "trailing document marker is fine", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}}\n---\n", want: nil},
		{name: "syntax error", doc: "default_profile: [a\n",
			want: []string{`not valid YAML`}},
		{name: "two documents", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}}\n---\nx: 1\n",
			want: []string{`more than one YAML document`}},
		{name: "bad profile name", doc: "default_profile: a\nprofiles: {a: {scopes: [read]}, 'b c': {scopes: [read]}}\n",
			want: []string{`profile name "b c"`}},
		{name: "all problems at once", doc: "profiles:\n  a: {scopes: [reed], fields: {deny: [bad name]}}\ntokens:\n  - {profile: q, sha256: 12}\nextra: 1\n",
			want: []string{`unknown key "extra"`, `unknown scope "reed"`, `deny field "bad name"`, `profile "q" is not defined`, `sha256 must be 64 hex`, `default_profile is missing`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse([]byte(tc.doc))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want problems %q", p, tc.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *Error", err)
			}
			for _, w := range tc.want {
				if !slices.ContainsFunc(pe.Problems, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no problem contains %q; got:\n%s", w, err)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "perm.yaml")
	if err := os.WriteFile(good, []byte(specExample), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if p.Source() != good {
		t.Errorf("Source = %q", p.Source())
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("profiles: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	var pe *Error
	if !errors.As(err, &pe) || pe.Path != bad || !strings.Contains(err.Error(), bad) || len(pe.Problems) != 2 {
		t.Errorf("Load(bad) = %v, want *Error naming the file with 2 problems", err)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "--permissions") {
		t.Errorf("Load(missing) = %v, want an error naming the flag", err)
	}
}

func TestDefault(t *testing.T) {
	t.Parallel()
	p := Default()
	d := p.DefaultProfile()
	if d == nil {
		t.Fatal("no default profile")
	}
	for _, s := range []Scope{ScopeRead, ScopeWrite, ScopeBulk, ScopeMonitor} {
		if !d.Allows(s) {
			t.Errorf("default profile lacks %s", s)
		}
	}
	if d.Allows(ScopeAdmin) {
		t.Error("default profile must not have admin")
	}
	if p.HasTokens() {
		t.Error("default policy has tokens")
	}
	if _, ok := p.ProfileForToken("anything"); ok {
		t.Error("default policy accepted a token")
	}
	if len(d.DenyFields) != 0 {
		t.Error("default profile denies fields")
	}
}

func TestNilProfileAllowsNothing(t *testing.T) {
	t.Parallel()
	var p *Profile
	if p.Allows() || p.Allows(ScopeRead) {
		t.Error("nil profile allowed something")
	}
	if p.Denied("X") || p.ScopeNames() != nil {
		t.Error("nil profile has deny list or scopes")
	}
}

func TestContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	if ProfileFrom(ctx) != nil {
		t.Error("empty context has a profile")
	}
	pr := &Profile{Name: "x", Scopes: []Scope{ScopeRead, ScopeBulk}}
	got := ProfileFrom(WithProfile(ctx, pr))
	if got != pr {
		t.Errorf("ProfileFrom = %v", got)
	}
	if !slices.Equal(got.ScopeNames(), []string{"read", "bulk"}) {
		t.Errorf("ScopeNames = %v", got.ScopeNames())
	}
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	for _, s := range AllScopes() {
		if got, ok := ParseScope(string(s)); !ok || got != s {
			t.Errorf("ParseScope(%q) = %q, %v", s, got, ok)
		}
	}
	if _, ok := ParseScope("READ"); ok {
		t.Error("ParseScope is case-insensitive")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add([]byte(specExample))
	f.Add([]byte(""))
	f.Add([]byte("default_profile: a\nprofiles: {a: {scopes: [read]}}\n"))
	f.Add([]byte("profiles:\n  a: &x {scopes: [read]}\n  b: *x\ndefault_profile: b\n"))
	f.Add([]byte("tokens: [{profile: a, sha256: 00}]\n"))
	f.Add([]byte("{{{"))
	f.Add([]byte("default_profile: a\nprofiles: {a: {scopes: [read]}}\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) && len(pe.Problems) == 0 {
				t.Fatal("*Error without problems")
			}
			if p != nil {
				t.Fatal("policy returned with an error")
			}
			return
		}
		d := p.DefaultProfile()
		if d == nil {
			t.Fatal("valid policy without default profile")
		}
		for _, pr := range p.Profiles() {
			for _, s := range pr.Scopes {
				if _, ok := ParseScope(string(s)); !ok {
					t.Fatalf("invalid scope %q accepted", s)
				}
			}
		}
	})
}

// TestModulesAndDenyIn: a profile's module list and per-module deny lists,
// as parsed from the file; the global deny list keeps its meaning.
func TestModulesAndDenyIn(t *testing.T) {
	t.Parallel()
	p, err := Parse([]byte(`default_profile: sales
profiles:
  sales:
    scopes: [read, write]
    modules: [Accounts, contacts, Deals, Accounts]
    fields:
      deny: [Annual_Revenue]
      deny_in: { Contacts: [Mobile, Date_of_Birth] }
  all: { scopes: [read], fields: { deny: [Phone] } }
`))
	if err != nil {
		t.Fatal(err)
	}
	sales, _ := p.Profile("sales")
	all, _ := p.Profile("all")
	var none *Profile
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"listed module", sales.AllowsModule("Accounts"), true},
		{"listed module, any case", sales.AllowsModule("CONTACTS"), true},
		{"unlisted module", sales.AllowsModule("Leads"), false},
		{"no list: every module", all.AllowsModule("Projects"), true},
		{"nil profile: no module", none.AllowsModule("Accounts"), false},
		{"global deny in Accounts", sales.DeniedIn("Accounts", "Annual_Revenue"), true},
		{"global deny in another module", sales.DeniedIn("Deals", "annual_revenue"), true},
		{"module deny in its module", sales.DeniedIn("contacts", "MOBILE"), true},
		{"module deny not elsewhere", sales.DeniedIn("Accounts", "Mobile"), false},
		{"Denied keeps the global list only", sales.Denied("Mobile"), false},
		{"nil profile denies nothing", none.DeniedIn("Accounts", "Phone"), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if !slices.Equal(sales.Modules, []string{"Accounts", "contacts", "Deals"}) {
		t.Errorf("Modules = %v, want each once in file order", sales.Modules)
	}
	if got := sales.DeniedFields("Contacts"); !slices.Equal(got, []string{"Annual_Revenue", "Mobile", "Date_of_Birth"}) {
		t.Errorf("DeniedFields(Contacts) = %v", got)
	}
	if got := sales.DeniedFields("Leads"); !slices.Equal(got, []string{"Annual_Revenue"}) {
		t.Errorf("DeniedFields(Leads) = %v", got)
	}
	if got := (&Profile{}).DeniedFields("Leads"); got != nil {
		t.Errorf("DeniedFields with no lists = %v, want nil", got)
	}
}
