package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
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
	if len(live) != 18 || !slices.Equal(live, manifest) {
		t.Errorf("manifest.json tools %v, live tools/list %v", manifest, live)
	}
}

// zohoScope matches a Zoho OAuth scope such as ZohoCRM.modules.accounts.ALL
// or ZohoSearch.securesearch.READ.
var zohoScope = regexp.MustCompile(`Zoho[A-Za-z]+(\.[A-Za-z_]+)+\.(ALL|READ|CREATE|UPDATE|DELETE)`)

// TestScopesAgree: the README's scope list (the code block of "Self-client
// credentials") and the scopes manifest.json asks for are the same set, and
// it holds the scope of every API the proxy calls — the search API's
// ZohoSearch.securesearch.READ included.
func TestScopesAgree(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var fromReadme []string
	for _, block := range strings.Split(string(readme), "```")[1:] {
		if strings.HasPrefix(block, "\n") && strings.Count(block, ",") > 0 && zohoScope.MatchString(block) {
			fromReadme = zohoScope.FindAllString(block, -1)
			break
		}
	}
	raw, err := os.ReadFile("../manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		UserConfig map[string]struct {
			Description string `json:"description"`
		} `json:"user_config"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	fromManifest := zohoScope.FindAllString(m.UserConfig["ZOHO_REFRESH_TOKEN"].Description, -1)
	slices.Sort(fromReadme)
	slices.Sort(fromManifest)
	if len(fromReadme) == 0 || !slices.Equal(fromReadme, fromManifest) {
		t.Errorf("README scopes %v, manifest.json scopes %v: list the same ones", fromReadme, fromManifest)
	}
	for _, need := range []string{"ZohoCRM.modules.ALL", "ZohoCRM.coql.READ", "ZohoCRM.bulk.ALL",
		"ZohoFiles.files.ALL", "ZohoCRM.org.ALL", "ZohoCRM.settings.modules.READ", "ZohoCRM.settings.fields.READ",
		"ZohoCRM.settings.related_lists.READ", "ZohoSearch.securesearch.READ"} {
		if !slices.Contains(fromReadme, need) {
			t.Errorf("the README's scope list lacks %s", need)
		}
	}
}
