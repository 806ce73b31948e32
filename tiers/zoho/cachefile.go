package zoho

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// The token cache is one directory of small JSON files, each private to the
// user (mode 0600 in a 0700 directory) and written atomically. Each kind of
// entry has its own file-name prefix so that entries never mix: tiers 2 and 3
// keep access tokens in "token-*.json" (CacheFileName), tier 1 keeps its
// OAuth grant in "mcp-grant-*.json" (tiers/mcp).

// ResolveCacheDir returns the token cache directory for dir: dir itself when
// set, os.UserCacheDir()/CacheDirName when dir is "". The value "-" means
// "no disk cache" and returns ErrCacheDisabled.
func ResolveCacheDir(dir string) (string, error) {
	switch dir {
	case "-":
		return "", ErrCacheDisabled
	case "":
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no user cache directory: %w", err)
		}
		return filepath.Join(base, CacheDirName), nil
	}
	return dir, nil
}

// ErrCacheDisabled is ResolveCacheDir's answer for the directory "-".
var ErrCacheDisabled = errors.New("the token cache is disabled")

// CacheFile is one file of the token cache.
type CacheFile struct {
	// Path is the file's path.
	Path string
}

// Read returns the file's content; ok is false when there is no file. A file
// that is not a regular file, is readable or writable by group or others,
// belongs to another user or is larger than 64 KiB is an error: it must not
// be trusted.
func (f CacheFile) Read() (b []byte, ok bool, err error) {
	fh, err := os.Open(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("unreadable: %w", err)
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false, errors.New("not a regular file")
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, false, fmt.Errorf("readable by others (mode %s); it must have mode 0600", fi.Mode().Perm())
	}
	if !ownedByMe(fi) {
		return nil, false, errors.New("owned by another user")
	}
	b, err = io.ReadAll(io.LimitReader(fh, maxCacheFile+1))
	if err != nil {
		return nil, false, fmt.Errorf("unreadable: %w", err)
	}
	if len(b) > maxCacheFile {
		return nil, false, errors.New("larger than a cache entry can be")
	}
	return b, true, nil
}

// Write replaces the file's content atomically: a temporary file in the same
// directory (created 0600, synced) is renamed over it, so a reader sees the
// old content or the new, never a mix, and a crash leaves one of them. The
// directory is created 0700 if needed.
func (f CacheFile) Write(b []byte) error {
	dir := filepath.Dir(f.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the cache directory: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".token-*.tmp")
	if err != nil {
		return fmt.Errorf("create a temporary file: %w", err)
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
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(name, f.Path); err != nil {
		return err
	}
	ok = true
	return nil
}

// Lock takes an exclusive lock on the entry across processes (an advisory
// lock on the sibling file Path+".lock"), waiting for it until ctx ends.
// Call unlock to release it. Use it around a read-modify-write that must not
// interleave with another process's, such as spending a refresh token that
// rotates. On platforms without advisory locks it only orders nothing and
// returns at once.
func (f CacheFile) Lock(ctx context.Context) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(f.Path), 0o700); err != nil {
		return nil, fmt.Errorf("create the cache directory: %w", err)
	}
	fh, err := os.OpenFile(f.Path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the lock file: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- lockFile(fh) }()
	select {
	case err := <-done:
		if err != nil {
			fh.Close()
			return nil, fmt.Errorf("lock %s: %w", filepath.Base(f.Path), err)
		}
		return func() { _ = unlockFile(fh); fh.Close() }, nil
	case <-ctx.Done():
		// The lock arrives later or never: release it as soon as it does.
		go func() {
			if <-done == nil {
				_ = unlockFile(fh)
			}
			fh.Close()
		}()
		return nil, ctx.Err()
	}
}
