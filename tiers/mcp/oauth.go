package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// tokenSource obtains the optional bearer token for upstream calls with a
// client-credentials grant, caches it until a minute before it expires, and
// lets one caller at a time refresh it.
type tokenSource struct {
	cfg  Config
	http *http.Client

	mu     sync.Mutex // held across a grant: callers queue behind one refresh
	tok    string
	expiry time.Time

	cur    sync.Mutex // guards curTok for red() without waiting on a grant
	curTok string
}

func newTokenSource(cfg Config, hc *http.Client) *tokenSource {
	return &tokenSource{cfg: cfg, http: hc}
}

// current returns the token in use, for redaction.
func (s *tokenSource) current() string {
	s.cur.Lock()
	defer s.cur.Unlock()
	return s.curTok
}

// token returns a valid access token, granting a new one when needed.
func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && s.cfg.Now().Before(s.expiry) {
		return s.tok, nil
	}
	tok, ttl, err := s.grant(ctx)
	if err != nil {
		return "", err
	}
	s.tok = tok
	margin := time.Minute
	if ttl <= 2*margin {
		margin = ttl / 2
	}
	s.expiry = s.cfg.Now().Add(ttl - margin)
	s.cur.Lock()
	s.curTok = tok
	s.cur.Unlock()
	return tok, nil
}

// grant performs the client-credentials grant. Zoho's token endpoint answers
// errors with HTTP 200 and {"error": …} (reference §2.4).
func (s *tokenSource) grant(ctx context.Context) (string, time.Duration, error) {
	base := strings.TrimRight(s.cfg.AccountsURL, "/")
	if base == "" {
		base = "https://accounts.zoho.com"
	}
	scope := s.cfg.OAuthScope
	if scope == "" {
		scope = "ZohoMCP.tool.execute"
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {s.cfg.ClientID},
		"client_secret": {s.cfg.ClientSecret},
		"scope":         {scope},
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/oauth/v2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassAuth, Message: "invalid OAuth accounts URL for ZOHO_MCP_CLIENT_ID"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.http.Do(req)
	if err != nil {
		return "", 0, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable,
			Message: "could not reach the OAuth server for the MCP bearer token: " + redactSecret(err.Error(), s.cfg.ClientSecret)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var tr struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   json.Number `json:"expires_in"`
		Error       string      `json:"error"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return "", 0, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassUnavailable, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("the OAuth server answered HTTP %d with a body that is not JSON", resp.StatusCode)}
	}
	if tr.Error != "" || tr.AccessToken == "" {
		why := tr.Error
		if why == "" {
			why = "no access_token in the answer"
		}
		return "", 0, &tiers.Error{Tier: tiers.MCP, Class: tiers.ClassAuth, Code: strings.ToUpper(tr.Error), HTTPStatus: resp.StatusCode,
			Message: "the OAuth client ZOHO_MCP_CLIENT_ID was refused: " + why + "; check ZOHO_MCP_CLIENT_ID/ZOHO_MCP_CLIENT_SECRET"}
	}
	ttl := time.Hour
	if n, err := tr.ExpiresIn.Int64(); err == nil && n > 0 {
		ttl = time.Duration(n) * time.Second
	}
	return tr.AccessToken, ttl, nil
}

// redactSecret removes secret from s.
func redactSecret(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, redacted)
}
