package cluster_test

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster"
)

// How a token source uses Tokens: the shared path first, its own local
// refresh (with its local cap accounting) when Redis cannot be used.
func ExampleTokens_Refresh() {
	c, _ := cluster.New(cluster.Config{URL: "redis://127.0.0.1:6379/0"})
	defer c.Close()
	key, _ := cluster.ParseKey("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	tokens, _ := cluster.NewTokens(c, cluster.TokensConfig{Key: key})
	id := cluster.NewCredentialID("https://accounts.zoho.eu", "1000.ID", "1000.refresh")

	grant := func(ctx context.Context) (cluster.Token, error) { // Zoho's refresh grant
		return cluster.Token{AccessToken: "1000.new", Expiry: time.Now().Add(59 * time.Minute)}, nil
	}
	tok, err := tokens.Refresh(context.Background(), id, "1000.rejected-by-zoho", grant)
	if errors.Is(err, cluster.ErrUnavailable) {
		tok, err = grant(context.Background()) // the local path, as without Redis
	}
	_, _ = tok, err
}

// The shared and the local governor are interchangeable.
func ExampleGovernor() {
	var g cluster.Governor = cluster.NewLocalGovernor(10)
	if c, err := cluster.New(cluster.Config{URL: "redis://127.0.0.1:6379/0"}); err == nil {
		defer c.Close()
		g, _ = cluster.NewSharedGovernor(c, cluster.GovernorConfig{Name: "org-zgid", Limit: 10})
	}
	release, err := g.Acquire(context.Background())
	if err == nil {
		defer release()
		// … one Zoho call …
	}
}

// A tier's breaker shared by every replica, with the router's settings.
func ExampleSharedBreaker() {
	c, _ := cluster.New(cluster.Config{URL: "redis://127.0.0.1:6379/0"})
	defer c.Close()
	cb := cluster.NewSharedBreaker[struct{}](c, gobreaker.Settings{
		Name:        "MCP",
		MaxRequests: 2,
		Timeout:     time.Minute,
		ReadyToTrip: func(n gobreaker.Counts) bool { return n.ConsecutiveFailures >= 5 },
	})
	_, err := cb.Execute(func() (struct{}, error) { return struct{}{}, nil /* the tier call */ })
	_ = err // gobreaker.ErrOpenState when any replica's failures opened it
}
