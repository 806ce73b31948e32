package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
)

// manifest is the part of manifest.json the tests check.
type manifest struct {
	ManifestVersion string `json:"manifest_version"`
	Name            string `json:"name"`
	Version         string `json:"version"`
	Server          struct {
		Type       string `json:"type"`
		EntryPoint string `json:"entry_point"`
		MCPConfig  struct {
			Command           string            `json:"command"`
			Args              []string          `json:"args"`
			Env               map[string]string `json:"env"`
			PlatformOverrides map[string]struct {
				Command string `json:"command"`
			} `json:"platform_overrides"`
		} `json:"mcp_config"`
	} `json:"server"`
	Tools []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"tools"`
	Prompts []struct {
		Name      string   `json:"name"`
		Arguments []string `json:"arguments"`
		Text      string   `json:"text"`
	} `json:"prompts"`
	UserConfig map[string]struct {
		Type      string `json:"type"`
		Title     string `json:"title"`
		Sensitive bool   `json:"sensitive"`
		Required  bool   `json:"required"`
	} `json:"user_config"`
	PrivacyPolicies []string `json:"privacy_policies"`
}

func readManifest(t *testing.T) (manifest, []byte) {
	t.Helper()
	b, err := os.ReadFile("../../manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return m, b
}

func TestManifestToolsEqualRegisteredTools(t *testing.T) {
	t.Parallel()
	m, _ := readManifest(t)
	var got, want []string
	for _, tl := range m.Tools {
		got = append(got, tl.Name)
		if strings.TrimSpace(tl.Description) == "" {
			t.Errorf("manifest tool %s has no description", tl.Name)
		}
	}
	for _, tl := range tools.All(tools.Deps{}) {
		want = append(want, tl.Def.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("manifest tools = %v\nregistered tools = %v", got, want)
	}
}

// TestManifestPromptsEqualServedPrompts: the bundle's prompts are the
// server's, with the same arguments, each used in its text.
func TestManifestPromptsEqualServedPrompts(t *testing.T) {
	t.Parallel()
	m, _ := readManifest(t)
	served := tools.Prompts()
	if len(m.Prompts) != len(served) {
		t.Fatalf("manifest has %d prompts, the server %d", len(m.Prompts), len(served))
	}
	for i, p := range served {
		mp := m.Prompts[i]
		var args []string
		for _, a := range p.Def.Arguments {
			args = append(args, a.Name)
		}
		if mp.Name != p.Def.Name || !slices.Equal(mp.Arguments, args) {
			t.Errorf("manifest prompt %s %v, served %s %v", mp.Name, mp.Arguments, p.Def.Name, args)
		}
		for _, a := range args {
			if !strings.Contains(mp.Text, "${arguments."+a+"}") {
				t.Errorf("manifest prompt %s does not use argument %s", mp.Name, a)
			}
		}
	}
}

// TestManifestSwitchesReachTheConfig: the bundle's toolset, tool, read-only
// and result-text fields arrive as the environment the proxy reads: set, they
// choose; left empty, they are unset.
func TestManifestSwitchesReachTheConfig(t *testing.T) {
	t.Parallel()
	m, _ := readManifest(t)
	env := func(vals map[string]string) config.Getenv {
		return func(k string) string {
			v, ok := m.Server.MCPConfig.Env[k]
			if !ok {
				return ""
			}
			key := strings.TrimSuffix(strings.TrimPrefix(v, "${user_config."), "}")
			if x, ok := vals[key]; ok {
				return x
			}
			return v // left empty: the host passes the placeholder
		}
	}
	c, err := config.Load(config.Flags{}, env(map[string]string{"ZOHO_MCP_PROXY_TOOLSETS": "records,monitor", "ZOHO_MCP_PROXY_READ_ONLY": "true", "ZOHO_MCP_PROXY_RESULT_TEXT": "summary"}))
	if err != nil || !slices.Equal(c.Toolsets, []string{"records", "monitor"}) || !c.ReadOnly || c.Tools != nil || c.ResultText != config.ResultTextSummary {
		t.Errorf("set: toolsets %v tools %v read-only %v result-text %q (%v)", c.Toolsets, c.Tools, c.ReadOnly, c.ResultText, err)
	}
	c, err = config.Load(config.Flags{}, env(nil))
	if err != nil || c.Toolsets != nil || c.Tools != nil || c.ReadOnly || c.ResultText != config.ResultTextFull {
		t.Errorf("left empty: toolsets %v tools %v read-only %v result-text %q (%v)", c.Toolsets, c.Tools, c.ReadOnly, c.ResultText, err)
	}
}

func TestManifestShape(t *testing.T) {
	t.Parallel()
	m, raw := readManifest(t)
	s := m.Server
	if m.ManifestVersion != "0.3" || s.Type != "binary" || s.EntryPoint != "server/zoho-mcp-proxy" {
		t.Errorf("manifest_version/type/entry_point = %q/%q/%q", m.ManifestVersion, s.Type, s.EntryPoint)
	}
	if s.MCPConfig.Command != "${__dirname}/server/zoho-mcp-proxy" || !slices.Equal(s.MCPConfig.Args, []string{"serve", "--transport", "stdio"}) {
		t.Errorf("mcp_config = %q %v", s.MCPConfig.Command, s.MCPConfig.Args)
	}
	if s.MCPConfig.PlatformOverrides["win32"].Command != "${__dirname}/server/zoho-mcp-proxy.exe" {
		t.Errorf("win32 override = %+v", s.MCPConfig.PlatformOverrides)
	}
	if len(m.PrivacyPolicies) == 0 {
		t.Error("privacy_policies is required for a bundle that talks to an external service")
	}
	// Every env value is a ${user_config.KEY} of a declared key, and every
	// env name is one the proxy reads.
	known := map[string]bool{config.EnvClientID: true, config.EnvClientSecret: true, config.EnvRefreshToken: true,
		config.EnvDC: true, config.EnvMCPEndpoint: true, config.EnvOrgID: true,
		config.EnvToolsets: true, config.EnvTools: true, config.EnvReadOnly: true, config.EnvResultText: true}
	ref := regexp.MustCompile(`^\$\{user_config\.([A-Za-z0-9_]+)\}$`)
	for name, v := range s.MCPConfig.Env {
		if !known[name] {
			t.Errorf("env %s is not a setting the proxy reads", name)
		}
		sm := ref.FindStringSubmatch(v)
		if sm == nil {
			t.Errorf("env %s = %q: want ${user_config.KEY}", name, v)
			continue
		}
		if _, ok := m.UserConfig[sm[1]]; !ok {
			t.Errorf("env %s refers to undeclared user_config.%s", name, sm[1])
		}
	}
	for _, secret := range []string{config.EnvClientSecret, config.EnvRefreshToken, config.EnvMCPEndpoint} {
		uc, ok := m.UserConfig[secret]
		if !ok || !uc.Sensitive || uc.Type != "string" {
			t.Errorf("user_config.%s must be a sensitive string: %+v", secret, uc)
		}
	}
	for _, opt := range []string{config.EnvMCPEndpoint, config.EnvOrgID, config.EnvDC} {
		if m.UserConfig[opt].Required {
			t.Errorf("user_config.%s must be optional", opt)
		}
	}
	// mcpb's schema is strict: only its keys may appear at the top level.
	var top map[string]json.RawMessage
	_ = json.Unmarshal(raw, &top)
	allowed := []string{"$schema", "manifest_version", "name", "display_name", "version", "description", "long_description",
		"author", "repository", "homepage", "documentation", "support", "icon", "icons", "screenshots", "server", "tools",
		"tools_generated", "prompts", "prompts_generated", "keywords", "license", "privacy_policies", "compatibility",
		"user_config", "localization", "_meta"}
	for k := range top {
		if !slices.Contains(allowed, k) {
			t.Errorf("top-level key %q is not in the MCPB 0.3 schema", k)
		}
	}
	// An optional value the user left empty arrives as the literal
	// placeholder, which the proxy must read as unset.
	for name, v := range s.MCPConfig.Env {
		if !m.UserConfig[strings.TrimSuffix(strings.TrimPrefix(v, "${user_config."), "}")].Required && !config.IsUnsetPlaceholder(v) {
			t.Errorf("optional env %s = %q would not be read as unset when left empty", name, v)
		}
	}
}
