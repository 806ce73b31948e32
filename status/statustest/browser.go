// Package statustest drives the status page in a real browser: headless
// Chromium through chromedp, for the tests of package status and the
// end-to-end tests. Chromium comes from the distribution's package
// (scripts/deps-chromium.sh installs it); a test skips, saying why, where
// none can be found. Imported by tests only.
//
//	STATUS_CHROMIUM   the browser to run (default: chromium on PATH)
//	STATUS_ARTIFACTS  where screenshots go (default: the test's temporary directory)
package statustest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Chromium returns the browser to run, or skips the test.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("STATUS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium on PATH (scripts/deps-chromium.sh installs Debian's chromium; or set STATUS_CHROMIUM): skipping the browser test")
	return ""
}

// Browser starts headless Chromium with a fresh profile and returns its
// context, which ends with the test or after limit.
func Browser(t testing.TB, limit time.Duration) context.Context {
	t.Helper()
	path := Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		// Without these Chromium reaches for the network in the background,
		// which a closed sandbox refuses.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", path, err)
	}
	return bctx
}

// NewTab opens a tab in the browser of ctx, closed with the test. The tab
// is opened here, on a context without a deadline: chromedp binds a tab to
// the context of its first action.
func NewTab(t testing.TB, ctx context.Context) context.Context {
	t.Helper()
	tab, closeTab := chromedp.NewContext(ctx)
	t.Cleanup(closeTab)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab
}

// Do runs steps in tab, failing the test with what after 45 seconds (a
// deadline for a loaded machine: a page update takes milliseconds).
func Do(t testing.TB, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Artifacts is the directory screenshots go to: $STATUS_ARTIFACTS, or a
// temporary directory of the test.
func Artifacts(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("STATUS_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// Screenshot saves a full-page screenshot of tab as name in Artifacts and
// returns the PNG.
func Screenshot(t testing.TB, tab context.Context, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(Artifacts(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return png
}
