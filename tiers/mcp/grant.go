package mcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// grant is tier 1's OAuth grant at the authorization server of Zoho's hosted
// MCP server ("Authorization on Demand"): what Login obtains and stores, and
// what the tier refreshes at run time. It lives in the token cache
// (zoho.CacheFile: mode 0600, written atomically) under a name of its own.
type grant struct {
	Version int `json:"v"`
	// Resource is the RFC 8707 resource indicator the grant is for: the
	// resource of the endpoint's protected resource metadata.
	Resource string `json:"resource"`
	// Issuer and TokenURL are the authorization server's.
	Issuer   string `json:"issuer"`
	TokenURL string `json:"token_endpoint"`
	// ClientID is the OAuth client: registered by Login (DCR) or
	// ZOHO_MCP_CLIENT_ID.
	ClientID string `json:"client_id"`
	// ClientSecret is a secret dynamic registration issued; a
	// ZOHO_MCP_CLIENT_SECRET is never stored (the tier reads it from its
	// Config).
	ClientSecret string `json:"client_secret,omitempty"`
	// AuthMethod is how the client authenticates at the token endpoint:
	// none, client_secret_post or client_secret_basic.
	AuthMethod string `json:"token_endpoint_auth_method"`
	// Registered reports a client from dynamic registration.
	Registered bool     `json:"registered,omitempty"`
	Scopes     []string `json:"scopes,omitempty"`
	// RefreshToken is the grant; it may rotate on every refresh.
	RefreshToken string `json:"refresh_token,omitempty"`
	// AccessToken is usable until Expiry (already shortened by a margin).
	AccessToken string    `json:"access_token,omitempty"`
	Expiry      time.Time `json:"expiry,omitzero"`
	Updated     time.Time `json:"updated"`
}

// Token endpoint client authentication methods (RFC 7591 §2).
const (
	authNone        = "none"
	authSecretPost  = "client_secret_post"
	authSecretBasic = "client_secret_basic"
)

// oauthConfig returns the golang.org/x/oauth2 configuration that refreshes g.
// secret is ZOHO_MCP_CLIENT_SECRET, used for a client it belongs to.
func (g *grant) oauthConfig(secret string) *oauth2.Config {
	if g.ClientSecret != "" {
		secret = g.ClientSecret
	}
	style := oauth2.AuthStyleInParams
	switch {
	case g.AuthMethod == authNone:
		secret = ""
	case g.AuthMethod == authSecretBasic:
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{ClientID: g.ClientID, ClientSecret: secret, Scopes: g.Scopes,
		Endpoint: oauth2.Endpoint{TokenURL: g.TokenURL, AuthStyle: style}}
}

// grantStore is where the grant of one endpoint and client is kept.
type grantStore struct {
	file zoho.CacheFile
}

// grantFilePrefix names tier 1's entries in the token cache; tiers 2 and 3
// use "token-" (zoho.CacheFileName), so the two never mix.
const grantFilePrefix = "mcp-grant-"

// grantFileName is the cache file of the grant for endpoint and clientID
// (ZOHO_MCP_CLIENT_ID, "" for a dynamically registered client): a hash, so
// neither the endpoint key nor the client shows in the name, and a grant made
// with one client is never used with another.
func grantFileName(endpoint, clientID string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(endpoint) + "\x00" + clientID))
	return grantFilePrefix + hex.EncodeToString(sum[:16]) + ".json"
}

// newGrantStore returns the store in the token cache directory dir ("" =
// the user cache directory; "-" = none, zoho.ErrCacheDisabled).
func newGrantStore(dir, endpoint, clientID string) (*grantStore, error) {
	d, err := zoho.ResolveCacheDir(dir)
	if err != nil {
		return nil, err
	}
	return &grantStore{file: zoho.CacheFile{Path: filepath.Join(d, grantFileName(endpoint, clientID))}}, nil
}

// path is the store's file.
func (s *grantStore) path() string { return s.file.Path }

// load returns the stored grant, or nil when there is none. A file that
// cannot be trusted (mode, owner) or read is an error.
func (s *grantStore) load() (*grant, error) {
	b, ok, err := s.file.Read()
	if err != nil {
		return nil, fmt.Errorf("the stored tier-1 login %s is ignored: %w", s.path(), err)
	}
	if !ok {
		return nil, nil
	}
	var g grant
	if err := json.Unmarshal(b, &g); err != nil || g.Version != 1 || g.ClientID == "" || g.TokenURL == "" {
		return nil, fmt.Errorf("the stored tier-1 login %s is ignored: it is not a grant this version wrote", s.path())
	}
	return &g, nil
}

// save replaces the stored grant atomically.
func (s *grantStore) save(g *grant) error {
	g.Version = 1
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := s.file.Write(b); err != nil {
		return fmt.Errorf("store the tier-1 login in %s: %w", s.path(), err)
	}
	return nil
}

// lock holds the grant against other processes (another proxy refreshing,
// a login) until unlock.
func (s *grantStore) lock(ctx context.Context) (unlock func(), err error) {
	return s.file.Lock(ctx)
}
