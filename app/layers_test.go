package app

import (
	"go/build"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// layers lists, for every package of the module, the packages of the
// module it may import (docs/ARCHITECTURE.md draws them). Data flows one
// way: transport → tools → router → tiers; app alone wires every layer;
// the emulator imports nothing of the proxy.
var layers = map[string][]string{
	"tiers":                 {},
	"tiers/zoho":            {"tiers"},
	"tiers/mcp":             {"tiers", "tiers/zoho"},
	"tiers/bulk":            {"tiers", "tiers/zoho"},
	"tiers/rest":            {"tiers", "tiers/zoho"},
	"tiers/tierstest":       {"tiers"},
	"router":                {"tiers"},
	"permissions":           {"tiers"},
	"metadata":              {"tiers"},
	"config":                {"tiers", "tiers/zoho", "cluster"},
	"cluster":               {},
	"cluster/redistest":     {},
	"status":                {"tiers", "router"},
	"status/statustest":     {},
	"tools":                 {"tiers", "router", "permissions", "metadata"},
	"tools/resultstoretest": {"tools", "permissions"},
	"server":                {"tiers", "permissions"},
	"app": {"tiers", "tiers/zoho", "tiers/mcp", "tiers/bulk", "tiers/rest", "router", "permissions", "config",
		"tools", "server", "cluster", "status", "metadata"},
	"demo":               {"app", "config", "status", "tiers", "tools", "zohosim"},
	"loadtest":           {"app", "config", "server", "tiers", "tiers/zoho", "zohosim"},
	"cmd/zoho-mcp-proxy": {"app", "config", "demo", "permissions", "server", "zohosim"},
	"cmd/zmp-load":       {"loadtest"},
	"zohosim":            {},
}

// TestLayers: no package imports a layer above it or beside it, and only
// tests import the test doubles of tiers/tierstest.
func TestLayers(t *testing.T) {
	t.Parallel()
	const module = "github.com/zoho-mcp-proxy/zoho-mcp-proxy/"
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files here
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "e2e") {
			return nil // tests only
		}
		allowed, ok := layers[rel]
		if !ok {
			t.Errorf("package %s is not in the layer map: add it to layers and docs/ARCHITECTURE.md", rel)
			return nil
		}
		seen[rel] = true
		for _, imp := range pkg.Imports {
			if dep, ok := strings.CutPrefix(imp, module); ok && !slices.Contains(allowed, dep) {
				t.Errorf("%s imports %s, which its layer may not (allowed: %v)", rel, dep, allowed)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range layers {
		if !seen[rel] {
			t.Errorf("the layer map names %s, which is not a package of the module", rel)
		}
	}
}
