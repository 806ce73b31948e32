package tools

import (
	"fmt"
	"slices"
	"strings"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// The toolsets (as in github-mcp-server): groups of tools an operator turns
// on with --toolsets.
const (
	// ToolsetAccounts holds the Account tools of SPEC §4.
	ToolsetAccounts = "accounts"
	// ToolsetRecords holds describe_module and the generic record tools
	// over every module.
	ToolsetRecords = "records"
	// ToolsetMonitor holds get_tier_health, get_tier_metrics and
	// reset_circuit_breakers.
	ToolsetMonitor = "monitor"
	// ToolsetAll names every toolset in a --toolsets list.
	ToolsetAll = "all"
)

// Toolsets returns every toolset, in documentation order.
func Toolsets() []string { return []string{ToolsetAccounts, ToolsetRecords, ToolsetMonitor} }

// DefaultToolsets are the toolsets enabled when none is chosen: all of them.
func DefaultToolsets() []string { return Toolsets() }

// Writes reports whether t changes data at Zoho: it needs the write scope.
// --read-only switches such tools off.
func Writes(t Tool) bool { return slices.Contains(t.Scopes, permissions.ScopeWrite) }

// Selection chooses which tools the server enables (--toolsets, --tools,
// --read-only). The zero Selection enables DefaultToolsets.
type Selection struct {
	// Toolsets are the toolsets to enable; ToolsetAll means every one. Nil
	// means DefaultToolsets, unless Tools is given: then only Tools.
	Toolsets []string
	// Tools are tools to enable by name, besides those of Toolsets.
	Tools []string
	// ReadOnly switches off every tool that writes to Zoho (see Writes),
	// whatever else is chosen.
	ReadOnly bool
}

// Disabled returns why s switches off each tool of ts that it does (tool
// name → a reason written for an agent); a tool not in the map is enabled.
// Unknown toolset or tool names are one error that lists them all and the
// valid names.
func (s Selection) Disabled(ts []Tool) (map[string]string, error) {
	sets := s.Toolsets
	if sets == nil && len(s.Tools) == 0 {
		sets = DefaultToolsets()
	}
	var problems []string
	on := map[string]bool{}
	for _, n := range sets {
		n = strings.TrimSpace(n)
		switch {
		case n == ToolsetAll:
			for _, t := range Toolsets() {
				on[t] = true
			}
		case slices.Contains(Toolsets(), n):
			on[n] = true
		default:
			problems = append(problems, fmt.Sprintf("unknown toolset %q (valid: %s, %s)", n, strings.Join(Toolsets(), ", "), ToolsetAll))
		}
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Def.Name
	}
	picked := map[string]bool{}
	for _, n := range s.Tools {
		n = strings.TrimSpace(n)
		if !slices.Contains(names, n) {
			problems = append(problems, fmt.Sprintf("unknown tool %q (valid: %s)", n, strings.Join(names, ", ")))
			continue
		}
		picked[n] = true
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	var enabled []string
	for t := range on {
		enabled = append(enabled, t)
	}
	slices.SortFunc(enabled, func(a, b string) int { return slices.Index(Toolsets(), a) - slices.Index(Toolsets(), b) })
	out := map[string]string{}
	for _, t := range ts {
		switch {
		case s.ReadOnly && Writes(t):
			out[t.Def.Name] = "the proxy runs read-only (--read-only / ZOHO_MCP_PROXY_READ_ONLY), so tools that change Zoho data are off"
		case !on[t.Toolset] && !slices.ContainsFunc(t.AlsoIn, func(s string) bool { return on[s] }) && !picked[t.Def.Name]:
			which := "no toolset is"
			if len(enabled) > 0 {
				which = "the enabled toolsets are " + strings.Join(enabled, ", ")
			}
			out[t.Def.Name] = fmt.Sprintf("it belongs to toolset %s and %s; an operator can enable it with --toolsets (ZOHO_MCP_PROXY_TOOLSETS) or --tools (ZOHO_MCP_PROXY_TOOLS)", t.Toolset, which)
		}
	}
	return out, nil
}
