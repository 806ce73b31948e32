package router

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

func TestBreakerChanges(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	down := classErr(tiers.MCP, tiers.ClassUnavailable)
	e := newEnv(t, func(cfg *Config, mcp, _, _ *tierstest.Tier) {
		cfg.BreakerThreshold = 2
		cfg.BreakerTimeout = 30 * time.Millisecond
		mcp.Behave = func(context.Context, int, tierstest.Call) error {
			if failing.Load() {
				return down
			}
			return nil
		}
	})
	if c := e.r.BreakerChanges(); len(c) != 0 {
		t.Fatalf("changes before any call = %+v; want none", c)
	}
	get := func() {
		t.Helper()
		if _, _, err := e.r.Get(context.Background(), agentRC, tiers.GetRequest{ID: "1"}); err != nil {
			t.Fatal(err)
		}
	}
	before := time.Now()
	get()
	get() // opens MCP
	afterCooldown(t, e.r, tiers.MCP, 30*time.Millisecond)
	get() // the trial fails: open again
	failing.Store(false)
	afterCooldown(t, e.r, tiers.MCP, 30*time.Millisecond)
	get()
	get() // two trials succeed: closed
	failing.Store(true)
	get()
	get() // open
	e.r.ResetBreakers()

	var got []string
	for i, c := range e.r.BreakerChanges() {
		if c.Seq != uint64(i+1) || c.Tier != tiers.MCP || c.At.Before(before) || c.At.After(time.Now()) {
			t.Errorf("change %d = %+v; want Seq %d, tier MCP, a time during the test", i, c, i+1)
		}
		got = append(got, fmt.Sprintf("%s>%s: %s", c.From, c.To, c.Reason))
	}
	want := []string{
		"closed>open: 2 consecutive failures",
		"open>half_open: cooldown of 30ms elapsed",
		"half_open>open: a trial call failed",
		"open>half_open: cooldown of 30ms elapsed",
		"half_open>closed: 2 trial calls succeeded",
		"closed>open: 2 consecutive failures",
		"open>closed: reset by reset_circuit_breakers",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBreakerChangesKeepsTheLast64(t *testing.T) {
	t.Parallel()
	r := &Router{}
	for i := range 200 {
		r.changes.add(BreakerChange{Tier: tiers.MCP, Reason: fmt.Sprint(i)})
	}
	c := r.BreakerChanges()
	if len(c) != maxChanges || c[0].Seq != 137 || c[0].Reason != "136" || c[63].Seq != 200 || c[63].Reason != "199" {
		t.Errorf("got %d changes, first %+v, last %+v; want the 64 newest, oldest first", len(c), c[0], c[len(c)-1])
	}
}
