package zoho

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"strings"
	"time"
)

// CacheDirName is the directory under os.UserCacheDir() that holds cached
// access tokens.
const CacheDirName = "zoho-mcp-proxy"

// cacheEntry is one cached token file. Refreshes are the recent refresh
// grants, so that the local cap accounting survives restarts too.
type cacheEntry struct {
	Version     int         `json:"v"`
	ClientID    string      `json:"client_id"`
	AccessToken string      `json:"access_token"`
	APIDomain   string      `json:"api_domain"`
	Expiry      time.Time   `json:"expiry"`
	Refreshes   []time.Time `json:"refreshes,omitempty"`
}

// tokenCache persists access tokens of one credential in one file, mode
// 0600, written atomically. A nil *tokenCache (disabled) loads nothing and
// saves nothing.
type tokenCache struct {
	path     string
	clientID string
	logger   *slog.Logger
}

// newTokenCache returns the cache for cred, or nil when disabled ("-") or
// when no cache directory can be found.
func newTokenCache(dir string, cred Credential, accountsURL string, logger *slog.Logger) *tokenCache {
	if dir == "-" || !cred.CanRefresh() {
		return nil
	}
	dir, err := ResolveCacheDir(dir)
	if err != nil {
		logger.Warn("no user cache directory; access tokens will not be cached on disk", "error", err)
		return nil
	}
	return &tokenCache{path: filepath.Join(dir, CacheFileName(cred, accountsURL)), clientID: cred.ClientID, logger: logger}
}

// CacheFileName returns the name of cred's token cache file: the client id
// (sanitised) and a hash of the accounts server and refresh token. The
// refresh token itself never appears in it.
func CacheFileName(cred Credential, accountsURL string) string {
	sum := sha256.Sum256([]byte(strings.TrimRight(accountsURL, "/") + "\x00" + cred.RefreshToken))
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, cred.ClientID)
	if len(id) > 64 {
		id = id[:64]
	}
	return "token-" + id + "-" + hex.EncodeToString(sum[:16]) + ".json"
}

// maxCacheFile bounds what a cache file read returns.
const maxCacheFile = 64 << 10

// load returns the cached entry. An unreadable, corrupt, foreign-owned or
// group/world-accessible file is ignored with a warning.
func (c *tokenCache) load() (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	b, ok, err := CacheFile{Path: c.path}.Read()
	if err != nil {
		c.logger.Warn("ignoring token cache file: "+err.Error(), "path", c.path)
		return cacheEntry{}, false
	}
	if !ok {
		return cacheEntry{}, false
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil || e.Version != 1 || e.ClientID != c.clientID {
		c.logger.Warn("ignoring corrupt token cache file", "path", c.path)
		return cacheEntry{}, false
	}
	return e, true
}

// save writes e atomically. Failures are logged, never returned: the cache
// is an optimisation.
func (c *tokenCache) save(e cacheEntry) {
	if c == nil {
		return
	}
	e.Version, e.ClientID = 1, c.clientID
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if err := (CacheFile{Path: c.path}).Write(b); err != nil {
		c.logger.Warn("cannot write token cache", "path", c.path, "error", err)
	}
}

// saveAttempts records refresh attempts without a usable token, keeping a
// cached token that is still there.
func (c *tokenCache) saveAttempts(attempts []time.Time) {
	if c == nil {
		return
	}
	e, _ := c.load()
	e.Refreshes = attempts
	c.save(e)
}
