package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestToolSwitches: --toolsets, --tools, --read-only and the metadata TTL
// come from flags, env and the file with the usual precedence; MCPB's
// placeholders for settings left empty count as unset.
func TestToolSwitches(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "toolsets: [accounts]\ntools: [get_record]\nread_only: true\nmetadata_ttl: 2m\n")
	tests := []struct {
		name         string
		flags        Flags
		env          map[string]string
		toolsets     []string
		tools        []string
		readOnly     bool
		ttl          time.Duration
		wantProblems string
	}{
		{name: "defaults", ttl: DefaultMetadataTTL},
		{name: "file", flags: Flags{Config: &file}, toolsets: []string{"accounts"}, tools: []string{"get_record"}, readOnly: true, ttl: 2 * time.Minute},
		{name: "env over file", flags: Flags{Config: &file},
			env:      map[string]string{EnvToolsets: "records, monitor,", EnvTools: "describe_module", EnvReadOnly: "false", EnvMetadataTTL: "90"},
			toolsets: []string{"records", "monitor"}, tools: []string{"describe_module"}, ttl: 90 * time.Second},
		{name: "flags over env", flags: Flags{Toolsets: ptr("all"), Tools: ptr(""), ReadOnly: ptr(true)},
			env:      map[string]string{EnvToolsets: "records", EnvTools: "get_record"},
			toolsets: []string{"all"}, tools: nil, readOnly: true, ttl: DefaultMetadataTTL},
		{name: "MCPB placeholders are unset",
			env: map[string]string{EnvToolsets: "${user_config.toolsets}", EnvTools: "${user_config.tools}", EnvReadOnly: "${user_config.read_only}"},
			ttl: DefaultMetadataTTL},
		{name: "bad values", env: map[string]string{EnvReadOnly: "maybe", EnvMetadataTTL: "soon"}, ttl: DefaultMetadataTTL,
			wantProblems: "ZOHO_MCP_PROXY_READ_ONLY=\"maybe\" is not a boolean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.flags, envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Toolsets, tt.toolsets) || !slices.Equal(c.Tools, tt.tools) || c.ReadOnly != tt.readOnly || c.MetadataTTL != tt.ttl {
				t.Errorf("toolsets %q tools %q read_only %v ttl %v; want %q %q %v %v", c.Toolsets, c.Tools, c.ReadOnly, c.MetadataTTL, tt.toolsets, tt.tools, tt.readOnly, tt.ttl)
			}
			err = c.Validate()
			if tt.wantProblems != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantProblems) || !strings.Contains(err.Error(), EnvMetadataTTL+`="soon" is not a duration`) {
					t.Errorf("Validate = %v, want %q and the TTL problem", err, tt.wantProblems)
				}
			}
		})
	}
	c := Default()
	c.MetadataTTL = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "metadata_ttl must be positive") {
		t.Errorf("zero TTL: %v", err)
	}
}

// TestResultText: result_text comes from the file, the environment and
// --result-text with the usual precedence, full by default; an MCPB
// placeholder counts as unset, and an unknown value stops the proxy with a
// message naming the setting and its values.
func TestResultText(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "result_text: summary\n")
	tests := []struct {
		name  string
		flags Flags
		env   map[string]string
		want  string
	}{
		{name: "default", want: ResultTextFull},
		{name: "file", flags: Flags{Config: &file}, want: ResultTextSummary},
		{name: "env over file", flags: Flags{Config: &file}, env: map[string]string{EnvResultText: "full"}, want: ResultTextFull},
		{name: "env", env: map[string]string{EnvResultText: " summary "}, want: ResultTextSummary},
		{name: "flag over env", flags: Flags{ResultText: ptr("summary")}, env: map[string]string{EnvResultText: "full"}, want: ResultTextSummary},
		{name: "MCPB placeholder is unset", env: map[string]string{EnvResultText: "${user_config.ZOHO_MCP_PROXY_RESULT_TEXT}"}, want: ResultTextFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(tt.flags, envOf(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			if c.ResultText != tt.want {
				t.Errorf("result_text %q, want %q", c.ResultText, tt.want)
			}
			if err := c.Validate(); err != nil && strings.Contains(err.Error(), "result_text") {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	bad := writeFile(t, "result_text: short\n")
	for name, fl := range map[string]struct {
		flags Flags
		env   map[string]string
	}{
		"file": {flags: Flags{Config: &bad}},
		"env":  {env: map[string]string{EnvResultText: "short"}},
		"flag": {flags: Flags{ResultText: ptr("short")}},
	} {
		c, err := Load(fl.flags, envOf(fl.env))
		if err != nil {
			t.Fatal(err)
		}
		err = c.Validate()
		want := `result_text "short" is unknown: set result_text (or --result-text, ZOHO_MCP_PROXY_RESULT_TEXT) to full`
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "or summary (the summary line only)") {
			t.Errorf("%s: Validate = %v, want %q", name, err, want)
		}
	}
}
