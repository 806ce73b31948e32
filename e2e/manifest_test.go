package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestManifestToolsMatchLiveList compares manifest.json's tools with what
// the binary really registers, listed live over stdio by a caller whose
// profile has every scope.
func TestManifestToolsMatchLiveList(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Tools []struct{ Name string } `json:"tools"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	perms := filepath.Join(t.TempDir(), "permissions.yaml")
	if err := os.WriteFile(perms, []byte("default_profile: ops\nprofiles:\n  ops: { scopes: [read, write, bulk, monitor, admin] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := sdk.NewClient(&sdk.Implementation{Name: "manifest-check", Version: "0.0.1"}, nil)
	cs, err := c.Connect(ctx, &sdk.CommandTransport{Command: exec.Command(binary, "serve", "--sandbox", "--permissions", perms)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	lt, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var live, manifest []string
	for _, tl := range lt.Tools {
		live = append(live, tl.Name)
	}
	for _, tl := range m.Tools {
		manifest = append(manifest, tl.Name)
	}
	slices.Sort(live)
	slices.Sort(manifest)
	if len(live) != 16 || !slices.Equal(live, manifest) {
		t.Errorf("manifest.json tools %v, live tools/list %v", manifest, live)
	}
}
