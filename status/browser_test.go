package status

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser test drives the page in headless Chromium, installed from the
// distribution's package by scripts/deps-chromium.sh. It skips, saying why,
// where no Chromium can be found.
//
//	STATUS_CHROMIUM        the browser to run (default: chromium on PATH)
//	STATUS_ARTIFACTS       where screenshots go (default: a temporary directory)
//	STATUS_UPDATE_README=1 also rewrites docs/status-page.png

func chromium(t *testing.T) string {
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

// browser starts headless Chromium with a fresh profile and returns a tab's
// context, which ends with the test or after two minutes.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
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
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("start %s: %v", chromium(t), err)
	}
	return bctx
}

func artifacts(t *testing.T) string {
	if d := os.Getenv("STATUS_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

func screenshot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(artifacts(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return png
}

// do runs steps in tab, failing the test with what after 45 seconds (a
// deadline for a loaded machine: a page update takes milliseconds).
func do(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// newTab opens a tab in the browser of ctx, closed with the test. The tab
// is opened here, on a context without a deadline: chromedp binds a tab to
// the context of its first action.
func newTab(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	tab, closeTab := chromedp.NewContext(ctx)
	t.Cleanup(closeTab)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab
}

func TestBrowser(t *testing.T) {
	ctx := browser(t)

	t.Run("live update shows the breaker open then closed without a reload", func(t *testing.T) {
		src := newFakeSource("MCP", "BULK", "REST")
		p, err := New(src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p.Sample()
		srv := httptest.NewServer(p)
		t.Cleanup(srv.Close) // after the tab closes, which ends its event stream
		tab := newTab(t, ctx)

		mcp := func(state BreakerState) chromedp.CSS {
			return chromedp.CSS(`[data-tier="MCP"][data-breaker-state="` + string(state) + `"]`)
		}
		do(t, tab, "load the page",
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(mcp(Closed)),
			// The script ran under the CSP (its hash) and holds the stream.
			chromedp.WaitReady(chromedp.CSS(`#live[data-live="sse"]`)),
		)
		if _, err := chromedp.Run(tab, chromedp.Evaluate[string](`window.statusTestMark = "no reload"`)); err != nil {
			t.Fatal(err)
		}
		// The stylesheet applied under the CSP (its hash).
		if v, err := chromedp.Run(tab, chromedp.Evaluate[string](`getComputedStyle(document.body).fontVariantNumeric`)); err != nil || v != "tabular-nums" {
			t.Errorf("body font-variant-numeric = %q, %v; want tabular-nums from the page's stylesheet", v, err)
		}

		src.calls("MCP", 5, 5, 2*time.Second)
		src.setBreaker("MCP", Open, time.Now(), "5 consecutive failures (last: unavailable)")
		src.failover("MCP", "BULK", "unavailable", 5)
		src.calls("BULK", 5, 0, 300*time.Millisecond)
		p.Sample()
		do(t, tab, "wait for MCP open", chromedp.WaitVisible(mcp(Open)))
		badge, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`[data-tier="MCP"] [data-stat="breaker"]`)))
		if err != nil || badge != "breaker open" {
			t.Errorf("MCP badge = %q, %v; want \"breaker open\"", badge, err)
		}
		headline, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("headline-text")))
		if err != nil || headline == "" {
			t.Errorf("headline = %q, %v", headline, err)
		}
		screenshot(t, tab, "status-breaker-open.png")

		src.setBreaker("MCP", HalfOpen, time.Now(), "cooldown of 1m0s elapsed")
		src.setBreaker("MCP", Closed, time.Now(), "2 trial calls succeeded")
		src.calls("MCP", 2, 0, 90*time.Millisecond)
		p.Sample()
		do(t, tab, "wait for MCP closed again",
			chromedp.WaitVisible(mcp(Closed)),
			chromedp.WaitReady(chromedp.CSS(`[data-tier="MCP"] [data-transition-to="open"]`)),
			chromedp.WaitReady(chromedp.CSS(`[data-tier="MCP"] [data-transition-to="closed"]`)),
		)
		if mark, err := chromedp.Run(tab, chromedp.Evaluate[string](`window.statusTestMark || "reloaded"`)); err != nil || mark != "no reload" {
			t.Errorf("page mark = %q, %v; want the page updated in place, not reloaded", mark, err)
		}
		announced, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("announce")))
		if err != nil || announced != "All 3 configured tiers are serving calls." {
			t.Errorf("live region = %q, %v; want the new headline announced", announced, err)
		}
		screenshot(t, tab, "status-breaker-closed.png")
	})

	t.Run("half an hour with two outages, for the README", func(t *testing.T) {
		clk := newFakeClock()
		src := newFakeSource("MCP", "BULK", "REST")
		p, err := New(src, Options{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		story(p, src, clk, 10*time.Second)
		srv := httptest.NewServer(p)
		t.Cleanup(srv.Close) // after the tab closes, which ends its event stream
		tab := newTab(t, ctx)
		do(t, tab, "load the page",
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`[data-tier="MCP"][data-breaker-state="open"]`)),
			chromedp.WaitReady(chromedp.CSS(`#live[data-live="sse"]`)),
		)
		png := screenshot(t, tab, "status-page.png")
		if os.Getenv("STATUS_UPDATE_README") == "1" {
			if err := os.WriteFile(filepath.Join("..", "docs", "status-page.png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
}
