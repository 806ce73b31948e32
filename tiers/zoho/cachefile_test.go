package zoho

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCacheFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "cache")
	f := CacheFile{Path: filepath.Join(dir, "mcp-grant-x.json")}
	if _, ok, err := f.Read(); ok || err != nil {
		t.Fatalf("missing file: ok %v err %v", ok, err)
	}
	if err := f.Write([]byte(`{"v":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := f.Write([]byte(`{"v":2}`)); err != nil {
		t.Fatal(err)
	}
	b, ok, err := f.Read()
	if !ok || err != nil || string(b) != `{"v":2}` {
		t.Fatalf("Read = %q %v %v", b, ok, err)
	}
	fi, _ := os.Stat(f.Path)
	di, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("modes: file %v dir %v", fi.Mode().Perm(), di.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
	// A file others can read is not trusted.
	if err := os.Chmod(f.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := f.Read(); ok || err == nil || !strings.Contains(err.Error(), "mode 0600") {
		t.Fatalf("0644 file: ok %v err %v", ok, err)
	}
}

func TestResolveCacheDir(t *testing.T) {
	t.Parallel()
	if _, err := ResolveCacheDir("-"); !errors.Is(err, ErrCacheDisabled) {
		t.Fatalf(`"-" = %v`, err)
	}
	if d, err := ResolveCacheDir("/some/dir"); d != "/some/dir" || err != nil {
		t.Fatalf("explicit dir = %q %v", d, err)
	}
	if d, err := ResolveCacheDir(""); err == nil && filepath.Base(d) != CacheDirName {
		t.Fatalf("default dir = %q", d)
	}
}

// TestCacheFileLock: the lock excludes another holder (another process:
// flock locks belong to open files, so two opens conflict) until it is
// released, and a waiter whose context ends gives up without keeping it.
func TestCacheFileLock(t *testing.T) {
	t.Parallel()
	f := CacheFile{Path: filepath.Join(t.TempDir(), "mcp-grant-x.json")}
	unlock, err := f.Lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.Lock(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock while held = %v, want context.Canceled", err)
	}
	got := make(chan func(), 1)
	go func() {
		u, err := f.Lock(context.Background())
		if err != nil {
			t.Error(err)
			got <- func() {}
			return
		}
		got <- u
	}()
	select {
	case <-got:
		t.Fatal("a second holder got the lock while it was held")
	default:
	}
	unlock()
	(<-got)()
	u, err := f.Lock(context.Background())
	if err != nil {
		t.Fatalf("Lock after release: %v", err)
	}
	u()
}
