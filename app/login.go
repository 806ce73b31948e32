package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/config"
	tiermcp "github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/mcp"
)

// LoginOptions are what Login needs besides the Config.
type LoginOptions struct {
	// Open opens a URL in the user's browser; nil means the URL is only
	// printed (--no-browser).
	Open func(url string) error
	// Out receives the progress lines and the URL to open; nil discards.
	Out io.Writer
	// Timeout bounds the wait for the browser; zero means
	// tiermcp.DefaultLoginTimeout.
	Timeout time.Duration
	// Port is the loopback port of the redirect listener; zero means a
	// random free one.
	Port int
}

// LoginResult is what a successful Login stored.
type LoginResult = tiermcp.LoginResult

// ErrNoOAuth is Login's answer for an endpoint that needs no login (its key
// is the whole credential: "Authorization via Connection").
var ErrNoOAuth = tiermcp.ErrNoOAuth

// Login runs tier 1's one-time OAuth login (`zoho-mcp-proxy login`) for the
// endpoint of cfg and stores the grant in cfg's token cache, where the tier
// finds it.
func Login(ctx context.Context, cfg *config.Config, o LoginOptions) (*LoginResult, error) {
	if cfg.Sandbox {
		return nil, errors.New("login is for Zoho's hosted MCP: the sandbox's endpoint needs none (drop --sandbox)")
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("port %d is not a TCP port", o.Port)
	}
	m := cfg.Tiers.MCP
	return tiermcp.Login(ctx, tiermcp.LoginConfig{
		Endpoint: m.Endpoint.Reveal(), ClientID: m.ClientID, ClientSecret: m.ClientSecret.Reveal(),
		CacheDir: cacheDirOf(cfg), Open: o.Open, Out: o.Out, Timeout: o.Timeout,
		ListenAddr: fmt.Sprintf("127.0.0.1:%d", o.Port),
	})
}

// DefaultLoginTimeout is how long Login waits for the browser by default.
const DefaultLoginTimeout = tiermcp.DefaultLoginTimeout
