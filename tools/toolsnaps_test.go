package tools

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// snapJSON renders a tool definition as its snapshot: the wire JSON with
// sorted keys, indented.
func snapJSON(t *testing.T, tl Tool) []byte {
	t.Helper()
	b, err := json.Marshal(tl.Def)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(out, '\n')
}

// TestToolSnaps compares every tool definition with its snapshot in
// __toolsnaps__/<tool>.snap. A missing or different snapshot fails; run
// with UPDATE_TOOLSNAPS=true to rewrite them after a deliberate change.
func TestToolSnaps(t *testing.T) {
	t.Parallel()
	update := os.Getenv("UPDATE_TOOLSNAPS") == "true"
	for _, tl := range All(Deps{}) {
		t.Run(tl.Def.Name, func(t *testing.T) {
			t.Parallel()
			got := snapJSON(t, tl)
			path := filepath.Join("__toolsnaps__", tl.Def.Name+".snap")
			if update {
				if err := os.MkdirAll("__toolsnaps__", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("snapshot %s missing (%v); run UPDATE_TOOLSNAPS=true go test ./tools/ and review the diff", path, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("tool %s differs from %s; if the change is deliberate run UPDATE_TOOLSNAPS=true go test ./tools/ and review the diff.\ngot:\n%s", tl.Def.Name, path, got)
			}
		})
	}
}

// TestNoStaleSnaps fails on a snapshot whose tool no longer exists.
func TestNoStaleSnaps(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("__toolsnaps__", "*.snap"))
	var names []string
	for _, tl := range All(Deps{}) {
		names = append(names, tl.Def.Name+".snap")
	}
	for _, f := range files {
		if !slices.Contains(names, filepath.Base(f)) {
			t.Errorf("stale snapshot %s", f)
		}
	}
}

// TestToolSet pins every tool: the nine of SPEC §4 and the record tools of
// §11 and the bulk result tools, their scopes, their toolsets and the modules they are bound to.
func TestToolSet(t *testing.T) {
	t.Parallel()
	R, W, B, M, A := permissions.ScopeRead, permissions.ScopeWrite, permissions.ScopeBulk, permissions.ScopeMonitor, permissions.ScopeAdmin
	type pin struct {
		scopes  []permissions.Scope
		toolset string
	}
	want := map[string]pin{
		"get_account":            {[]permissions.Scope{R}, ToolsetAccounts},
		"get_accounts":           {[]permissions.Scope{R}, ToolsetAccounts},
		"search_accounts":        {[]permissions.Scope{R}, ToolsetAccounts},
		"update_account":         {[]permissions.Scope{W}, ToolsetAccounts},
		"bulk_read_accounts":     {[]permissions.Scope{B, R}, ToolsetAccounts},
		"bulk_update_accounts":   {[]permissions.Scope{B, W}, ToolsetAccounts},
		"get_tier_health":        {[]permissions.Scope{M}, ToolsetMonitor},
		"get_tier_metrics":       {[]permissions.Scope{M}, ToolsetMonitor},
		"reset_circuit_breakers": {[]permissions.Scope{A}, ToolsetMonitor},
		"describe_module":        {[]permissions.Scope{R}, ToolsetRecords},
		"get_record":             {[]permissions.Scope{R}, ToolsetRecords},
		"get_records":            {[]permissions.Scope{R}, ToolsetRecords},
		"search_records":         {[]permissions.Scope{R}, ToolsetRecords},
		"get_related_records":    {[]permissions.Scope{R}, ToolsetRecords},
		"create_records":         {[]permissions.Scope{W}, ToolsetRecords},
		"update_records":         {[]permissions.Scope{W}, ToolsetRecords},
		"bulk_read_records":      {[]permissions.Scope{B, R}, ToolsetRecords},
		"bulk_update_records":    {[]permissions.Scope{B, W}, ToolsetRecords},
		"read_bulk_result":       {[]permissions.Scope{B}, ToolsetAccounts},
		"get_bulk_job":           {[]permissions.Scope{B}, ToolsetAccounts},
	}
	tools := All(Deps{})
	if len(tools) != len(want) {
		t.Fatalf("%d tools, want %d", len(tools), len(want))
	}
	for _, tl := range tools {
		p, ok := want[tl.Def.Name]
		if !ok {
			t.Errorf("unexpected tool %s", tl.Def.Name)
			continue
		}
		a, b := slices.Clone(p.scopes), slices.Clone(tl.Scopes)
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("%s scopes %v, want %v", tl.Def.Name, tl.Scopes, p.scopes)
		}
		if tl.Toolset != p.toolset {
			t.Errorf("%s toolset %q, want %q", tl.Def.Name, tl.Toolset, p.toolset)
		}
		wantModules := []string(nil)
		if p.toolset == ToolsetAccounts && tl.Def.Name != "read_bulk_result" && tl.Def.Name != "get_bulk_job" {
			wantModules = []string{Module} // the bulk result tools are bound to their caller, not a module
		}
		if !slices.Equal(tl.Modules, wantModules) {
			t.Errorf("%s is bound to modules %v, want %v", tl.Def.Name, tl.Modules, wantModules)
		}
	}
}

var toolNameRE = regexp.MustCompile(`^[a-z_]+$`)

// TestToolInvariants walks every tool for the house rules.
func TestToolInvariants(t *testing.T) {
	t.Parallel()
	for _, tl := range All(Deps{}) {
		t.Run(tl.Def.Name, func(t *testing.T) {
			t.Parallel()
			d := tl.Def
			if !toolNameRE.MatchString(d.Name) {
				t.Errorf("name %q does not match %s", d.Name, toolNameRE)
			}
			if d.Description == "" || d.Title == "" {
				t.Error("description or title missing")
			}
			if len(tl.Scopes) == 0 {
				t.Error("no scope declared")
			}
			for _, s := range tl.Scopes {
				if _, ok := permissions.ParseScope(string(s)); !ok {
					t.Errorf("unknown scope %q", s)
				}
			}
			an := d.Annotations
			if an.Title == "" || an.ReadOnlyHint == nil || an.DestructiveHint == nil || an.IdempotentHint == nil || an.OpenWorldHint == nil {
				t.Fatalf("annotations not all set explicitly: %+v", an)
			}
			readOnly := !slices.Contains(tl.Scopes, permissions.ScopeWrite) && !slices.Contains(tl.Scopes, permissions.ScopeAdmin)
			if *an.ReadOnlyHint != readOnly {
				t.Errorf("readOnlyHint = %v, want %v for scopes %v", *an.ReadOnlyHint, readOnly, tl.Scopes)
			}
			if readOnly && *an.DestructiveHint {
				t.Error("a read-only tool is marked destructive")
			}
			// A write tool that changes records overwrites values:
			// destructive. One that only adds records (create_records) is
			// not, nor is it idempotent (twice creates twice).
			adds := d.Name == "create_records"
			if slices.Contains(tl.Scopes, permissions.ScopeWrite) && !adds && !*an.DestructiveHint {
				t.Error("a write tool overwrites values and must say destructiveHint true")
			}
			if adds && (*an.DestructiveHint || *an.IdempotentHint) {
				t.Error("create_records adds records: destructiveHint and idempotentHint must be false")
			}

			if d.InputSchema.Type != "" || d.OutputSchema.Type != "" {
				t.Error("schemas must be raw, one source each")
			}
			var in, out map[string]any
			if err := json.Unmarshal(d.RawInputSchema, &in); err != nil {
				t.Fatalf("input schema: %v", err)
			}
			if err := json.Unmarshal(d.RawOutputSchema, &out); err != nil {
				t.Fatalf("output schema missing or invalid: %v", err)
			}
			for _, s := range []map[string]any{in, out} {
				if s["type"] != "object" {
					t.Errorf("schema root type %v, want object", s["type"])
				}
				for _, k := range []string{"anyOf", "oneOf", "allOf", "not", "$ref"} {
					if _, ok := s[k]; ok {
						t.Errorf("schema has top-level %s", k)
					}
				}
			}
			if in["additionalProperties"] != false {
				t.Error("input schema is not strict (additionalProperties false)")
			}
			walkObjects(in, "", func(path string, o map[string]any) {
				_, named := o["propertyNames"]
				if o["additionalProperties"] != false && !named {
					t.Errorf("input object %s accepts any key: strict objects need additionalProperties false, maps need propertyNames", path)
				}
			})
			compileSchema(t, d.RawInputSchema)
			compileSchema(t, d.RawOutputSchema)
		})
	}
}

// walkObjects calls fn for every object schema inside s.
func walkObjects(s map[string]any, path string, fn func(string, map[string]any)) {
	if s["type"] == "object" {
		fn(path, s)
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for k, v := range props {
			if m, ok := v.(map[string]any); ok {
				walkObjects(m, path+"."+k, fn)
			}
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		walkObjects(items, path+"[]", fn)
	}
	if ap, ok := s["additionalProperties"].(map[string]any); ok {
		walkObjects(ap, path+".*", fn)
	}
}

// TestAllowed: a profile sees exactly the tools its scopes cover; read-only
// profiles never see write or admin tools.
func TestAllowed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		prof *permissions.Profile
		want []string
	}{
		{name: "reader", prof: profReader, want: []string{"get_account", "get_accounts", "search_accounts", "get_tier_health", "get_tier_metrics",
			"describe_module", "get_record", "get_records", "search_records", "get_related_records"}},
		{name: "default profile", prof: permissions.Default().DefaultProfile(), want: []string{"get_account", "get_accounts", "search_accounts", "update_account", "bulk_read_accounts", "bulk_update_accounts", "get_tier_health", "get_tier_metrics",
			"describe_module", "get_record", "get_records", "search_records", "get_related_records", "create_records", "update_records", "bulk_read_records", "bulk_update_records", "read_bulk_result", "get_bulk_job"}},
		{name: "bulk without write", prof: &permissions.Profile{Name: "x", Scopes: []permissions.Scope{permissions.ScopeBulk, permissions.ScopeRead}}, want: []string{"get_account", "get_accounts", "search_accounts", "bulk_read_accounts",
			"describe_module", "get_record", "get_records", "search_records", "get_related_records", "bulk_read_records", "read_bulk_result", "get_bulk_job"}},
		{name: "admin only", prof: &permissions.Profile{Name: "x", Scopes: []permissions.Scope{permissions.ScopeAdmin}}, want: []string{"reset_circuit_breakers"}},
		{name: "nil profile", prof: nil, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, tl := range All(Deps{}) {
				if Allowed(tl, tc.prof) {
					got = append(got, tl.Def.Name)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("allowed %v, want %v", got, tc.want)
			}
		})
	}
}
