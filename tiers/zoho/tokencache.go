package zoho

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
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
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			logger.Warn("no user cache directory; access tokens will not be cached on disk", "error", err)
			return nil
		}
		dir = filepath.Join(base, CacheDirName)
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

// maxCacheFile bounds what load reads.
const maxCacheFile = 64 << 10

// load returns the cached entry. An unreadable, corrupt, foreign-owned or
// group/world-accessible file is ignored with a warning.
func (c *tokenCache) load() (cacheEntry, bool) {
	if c == nil {
		return cacheEntry{}, false
	}
	f, err := os.Open(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return cacheEntry{}, false
	}
	if err != nil {
		c.logger.Warn("ignoring unreadable token cache file", "path", c.path, "error", err)
		return cacheEntry{}, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		c.logger.Warn("ignoring token cache file that is not a regular file", "path", c.path)
		return cacheEntry{}, false
	}
	if fi.Mode().Perm()&0o077 != 0 {
		c.logger.Warn("ignoring token cache file readable by others; it must have mode 0600", "path", c.path, "mode", fi.Mode().Perm().String())
		return cacheEntry{}, false
	}
	if !ownedByMe(fi) {
		c.logger.Warn("ignoring token cache file owned by another user", "path", c.path)
		return cacheEntry{}, false
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCacheFile+1))
	if err != nil || len(b) > maxCacheFile {
		c.logger.Warn("ignoring unreadable token cache file", "path", c.path)
		return cacheEntry{}, false
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil || e.Version != 1 || e.ClientID != c.clientID {
		c.logger.Warn("ignoring corrupt token cache file", "path", c.path)
		return cacheEntry{}, false
	}
	return e, true
}

// save writes e atomically (temp file in the same directory, then rename).
// Failures are logged, never returned: the cache is an optimisation.
func (c *tokenCache) save(e cacheEntry) {
	if c == nil {
		return
	}
	e.Version, e.ClientID = 1, c.clientID
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	dir := filepath.Dir(c.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		c.logger.Warn("cannot create token cache directory", "dir", dir, "error", err)
		return
	}
	tmp, err := os.CreateTemp(dir, ".token-*.tmp")
	if err != nil {
		c.logger.Warn("cannot write token cache", "dir", dir, "error", err)
		return
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(name)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return
	}
	if err := tmp.Close(); err != nil {
		return
	}
	if err := os.Rename(name, c.path); err != nil {
		c.logger.Warn("cannot write token cache", "path", c.path, "error", err)
		return
	}
	ok = true
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
