package tools

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/router"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

func healthSchema() schema {
	return object("", schema{
		"tiers": array("Every tier in priority order.", object("", schema{
			"tier":       enumOf("Tier name.", string(tiers.MCP), string(tiers.Bulk), string(tiers.REST)),
			"enabled":    schema{"type": "boolean", "description": "Enabled in the configuration."},
			"configured": schema{"type": "boolean", "description": "Has the credentials and endpoint it needs."},
			"detail":     str("What the tier needs before it can serve and how to fix it, e.g. \"tier 1 needs `zoho-mcp-proxy login`: …\"; absent when it needs nothing."),
			"circuit_breaker": object("The tier's circuit breaker.", schema{
				"name":              str("Breaker name."),
				"state":             enumOf("closed: calls flow; open: calls skip this tier; half_open: trying again.", "closed", "open", "half_open"),
				"failure_count":     integer("Consecutive failures.", 0, 0),
				"success_count":     integer("Consecutive successes.", 0, 0),
				"failure_threshold": integer("Failures that open the breaker.", 0, 0),
				"success_threshold": integer("Successes in half_open that close it.", 0, 0),
				"timeout":           str("How long the breaker stays open, e.g. 1m0s."),
			}, "name", "state", "failure_count", "success_count", "failure_threshold", "success_threshold", "timeout"),
		}, "tier", "enabled", "configured", "circuit_breaker"), 0, 0),
	}, "tiers")
}

type healthOutput struct {
	Tiers []router.TierHealth `json:"tiers"`
}

func health(r *router.Router) healthOutput {
	h := r.Health()
	if h == nil {
		h = []router.TierHealth{}
	}
	return healthOutput{Tiers: h}
}

func healthSummary(h healthOutput) string {
	var parts []string
	for _, t := range h.Tiers {
		s := fmt.Sprintf("%s %s", t.Tier, t.CircuitBreaker.State)
		switch {
		case !t.Enabled:
			s = string(t.Tier) + " disabled"
		case !t.Configured && t.Detail != "":
			s = string(t.Tier) + " not configured (" + t.Detail + ")"
		case !t.Configured:
			s = string(t.Tier) + " not configured"
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "No tiers."
	}
	return "Tiers: " + strings.Join(parts, ", ") + "."
}

// GetTierHealth is get_tier_health.
func GetTierHealth(d Deps) Tool {
	d = d.withDefaults()
	const name = "get_tier_health"
	scopes := []permissions.Scope{permissions.ScopeMonitor}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Show each tier (MCP = Zoho's hosted MCP, BULK = multi-record and bulk APIs, REST = plain REST) in priority order: enabled, configured, and its circuit breaker (state closed|open|half_open, counts, thresholds, open timeout).",
			"Use it when calls fail with \"no tier could serve\". Read-only; takes no arguments.")),
		annotate(hints{title: "Tier health", readOnly: true, idempotent: true}),
		rawOutput(healthSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, _ noParams, _ *permissions.Profile) *mcp.CallToolResult {
		out := health(d.Router)
		return d.Text.success(tiers.Route{}, out, healthSummary(out))
	})
}

// metricsOutput mirrors router.TierMetrics with the guarantees the output
// schema makes: top_errors is an object, never null, and every number is
// finite.
type metricsOutput struct {
	Tiers []router.TierMetrics `json:"tiers"`
}

func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// GetTierMetrics is get_tier_metrics.
func GetTierMetrics(d Deps) Tool {
	d = d.withDefaults()
	const name = "get_tier_metrics"
	scopes := []permissions.Scope{permissions.ScopeMonitor}
	num := func(desc string) schema { return schema{"type": "number", "description": desc, "minimum": 0} }
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Show request statistics per tier since the proxy started: total, successful and failed requests, success_rate (percent), average and p50/p95/p99 durations in milliseconds, error_count and top_errors (error text → count).",
			"Read-only; takes no arguments.")),
		annotate(hints{title: "Tier metrics", readOnly: true, idempotent: true}),
		rawOutput(object("", schema{
			"tiers": array("Every tier in priority order.", object("", schema{
				"tier":                enumOf("Tier name.", string(tiers.MCP), string(tiers.Bulk), string(tiers.REST)),
				"total_requests":      integer("Requests sent to the tier.", 0, 0),
				"successful_requests": integer("Requests it served.", 0, 0),
				"failed_requests":     integer("Requests that failed.", 0, 0),
				"success_rate":        num("Percent of requests served, 0–100."),
				"avg_duration_ms":     num("Mean duration in ms."),
				"p50_duration_ms":     num("Median duration in ms."),
				"p95_duration_ms":     num("95th percentile duration in ms."),
				"p99_duration_ms":     num("99th percentile duration in ms."),
				"error_count":         integer("Errors counted.", 0, 0),
				"top_errors": schema{"type": "object", "description": "Error text → count.",
					"additionalProperties": schema{"type": "integer", "minimum": 0}},
			}, "tier", "total_requests", "successful_requests", "failed_requests", "success_rate", "avg_duration_ms",
				"p50_duration_ms", "p95_duration_ms", "p99_duration_ms", "error_count", "top_errors"), 0, 0),
		}, "tiers")),
	)
	return newTool(def, scopes, func(ctx context.Context, _ noParams, _ *permissions.Profile) *mcp.CallToolResult {
		ms := d.Router.Metrics()
		out := metricsOutput{Tiers: make([]router.TierMetrics, 0, len(ms))}
		var parts []string
		for _, m := range ms {
			if m.TopErrors == nil {
				m.TopErrors = map[string]int64{}
			}
			m.SuccessRate, m.AvgDurationMS = finite(m.SuccessRate), finite(m.AvgDurationMS)
			m.P50DurationMS, m.P95DurationMS, m.P99DurationMS = finite(m.P50DurationMS), finite(m.P95DurationMS), finite(m.P99DurationMS)
			out.Tiers = append(out.Tiers, m)
			parts = append(parts, fmt.Sprintf("%s %d requests, %.1f%% ok, p95 %.1f ms", m.Tier, m.TotalRequests, m.SuccessRate, m.P95DurationMS))
		}
		return d.Text.success(tiers.Route{}, out, "Tier metrics: "+strings.Join(parts, "; ")+".")
	})
}

// ResetCircuitBreakers is reset_circuit_breakers.
func ResetCircuitBreakers(d Deps) Tool {
	d = d.withDefaults()
	const name = "reset_circuit_breakers"
	scopes := []permissions.Scope{permissions.ScopeAdmin}
	def := mcp.NewTool(name,
		mcp.WithDescription(lines(
			"Close every tier's circuit breaker so the next calls try all tiers again, and return the tiers' health afterwards.",
			"An operator action (admin scope): use it after fixing a tier that is still marked open. Resetting twice has the same effect as once. No Zoho data changes.")),
		annotate(hints{title: "Reset circuit breakers", readOnly: false, destructive: false, idempotent: true}),
		rawOutput(healthSchema()),
	)
	return newTool(def, scopes, func(ctx context.Context, _ noParams, prof *permissions.Profile) *mcp.CallToolResult {
		d.Router.ResetBreakers()
		d.Logger.InfoContext(ctx, "circuit breakers reset", "profile", prof.Name)
		out := health(d.Router)
		return d.Text.success(tiers.Route{}, out, "All circuit breakers closed. "+healthSummary(out))
	})
}
