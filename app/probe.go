package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Probe checks every enabled, configured tier with timeout and returns one
// finding per tier (the `check` command prints them), and, when Redis is
// configured, one for the state replicas share: an error when Redis does
// not answer.
func (a *App) Probe(ctx context.Context, timeout time.Duration) []config.Finding {
	enabled := map[tiers.Name]bool{}
	for _, tc := range routerTiers(a.Config, a.Tiers) {
		enabled[tc.Name] = tc.Enabled
	}
	// Probe the tiers concurrently: check should take one probe timeout at
	// most, not one per tier.
	fs := make([]config.Finding, len(a.Tiers))
	var wg sync.WaitGroup
	for i, t := range a.Tiers {
		subject := "probe " + string(t.Name())
		switch {
		case !enabled[t.Name()]:
			continue
		case detail(t) != "":
			fs[i] = config.Finding{Level: config.LevelError, Subject: subject, Message: detail(t)}
			continue
		case !t.Configured():
			fs[i] = config.Finding{Level: config.LevelWarn, Subject: subject, Message: "skipped: tier not configured"}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			start := time.Now()
			if err := t.Probe(pctx); err != nil {
				if d := detail(t); d != "" {
					// The probe found what the tier needs (tier 1: a login).
					fs[i] = config.Finding{Level: config.LevelError, Subject: subject, Message: d}
					return
				}
				fs[i] = config.Finding{Level: config.LevelError, Subject: subject,
					Message: "cannot reach Zoho: " + err.Error() + " (check the tier's credentials, ZOHO_DC and the URL overrides)"}
				return
			}
			fs[i] = config.Finding{Level: config.LevelOK, Subject: subject, Message: fmt.Sprintf("reachable (%d ms)", time.Since(start).Milliseconds())}
		}()
	}
	wg.Wait()
	out := fs[:0]
	for _, f := range fs {
		if f.Level != "" {
			out = append(out, f)
		}
	}
	if a.shared != nil {
		start := time.Now()
		st := a.shared.state(ctx)
		f := config.Finding{Level: config.LevelOK, Subject: "shared state",
			Message: fmt.Sprintf("%s (%d ms)", st.Detail, time.Since(start).Milliseconds())}
		if !st.Usable {
			f.Level, f.Message = config.LevelError, st.Detail+": check "+config.EnvRedisURL+" and that Redis is up"
		}
		out = append(out, f)
	}
	return out
}

// detail is what t says it needs before it can serve (tiers.Detailer), or "".
func detail(t tiers.Tier) string {
	if d, ok := t.(tiers.Detailer); ok {
		return d.Detail()
	}
	return ""
}
