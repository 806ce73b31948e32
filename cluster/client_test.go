package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
)

func TestNewRejectsBadURLWithoutShowingThePassword(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, url, want string }{
		{"empty", "", "ZOHO_MCP_PROXY_REDIS_URL"},
		{"scheme", "http://user:hunter2@host:6379", "not valid"},
		{"db", "redis://:hunter2@host:6379/notadb", "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{URL: tt.url})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the password leaked: %v", err)
			}
		})
	}
	if got := RedactURL("redis://u:hunter2@h:1/0"); strings.Contains(got, "hunter2") {
		t.Fatal(got)
	}
}

// A Redis that accepts connections but answers nothing: every primitive
// gives up after the timeout, falls back, skips Redis until RetryAfter has
// passed, and is back on Redis once it answers — with one line each way.
func TestSlowRedisFallsBackThenRecovers(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	clk := newClock()
	r := newReplica(t, srv, clk, func(c *Config) { c.Timeout = time.Second; c.RetryAfter = time.Minute })
	local := NewLocalGovernor(5)
	g := newGov(t, r, 5, func(c *GovernorConfig) { c.Fallback = local })
	ctx := ctxT(t)
	if err := r.c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	resume := srv.Pause(t)
	for range 20 {
		release, err := g.Acquire(ctx)
		if err != nil {
			t.Fatalf("Acquire with Redis hung: %v", err)
		}
		if local.InFlight() != 1 {
			t.Fatal("not served by the fallback")
		}
		release()
	}
	if r.c.Usable() {
		t.Fatal("still using a hung Redis")
	}
	if err := r.c.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping: %v", err)
	}
	resume()
	clk.Advance(time.Minute)
	release, err := g.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if local.InFlight() != 0 {
		t.Fatal("still on the fallback after Redis came back")
	}
	if n, err := g.InFlight(ctx); err != nil || n != 1 {
		t.Fatalf("shared InFlight = %d, %v", n, err)
	}
	release()
	if w, i := r.log.count("unusable"), r.log.count("usable again"); w != 1 || i != 1 {
		t.Fatalf("%d down and %d up lines, want 1 and 1: %q", w, i, r.log.lines())
	}
}

func TestCallerCancellationDoesNotMarkRedisDown(t *testing.T) {
	t.Parallel()
	srv := redistest.Start(t)
	r := newReplica(t, srv, newClock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tk := newTokens(t, r)
	if _, _, err := tk.Get(ctx, credA); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a canceled ctx: %v", err)
	}
	if !r.c.Usable() || r.log.count("unusable") != 0 {
		t.Fatal("the caller's cancellation marked Redis down")
	}
}
