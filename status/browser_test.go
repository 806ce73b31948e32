package status

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/status/statustest"
)

// The browser test drives the page in headless Chromium (see package
// statustest), over a fake source. e2e/statuspage drives it over the real
// proxy.

func TestBrowser(t *testing.T) {
	ctx := statustest.Browser(t, 2*time.Minute)

	t.Run("live update shows the breaker open then closed without a reload", func(t *testing.T) {
		src := newFakeSource("MCP", "BULK", "REST")
		p, err := New(src, Options{})
		if err != nil {
			t.Fatal(err)
		}
		p.Sample()
		srv := httptest.NewServer(p)
		t.Cleanup(srv.Close) // after the tab closes, which ends its event stream
		tab := statustest.NewTab(t, ctx)

		mcp := func(state BreakerState) chromedp.CSS {
			return chromedp.CSS(`[data-tier="MCP"][data-breaker-state="` + string(state) + `"]`)
		}
		statustest.Do(t, tab, "load the page",
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
		statustest.Do(t, tab, "wait for MCP open", chromedp.WaitVisible(mcp(Open)))
		badge, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`[data-tier="MCP"] [data-stat="breaker"]`)))
		if err != nil || badge != "breaker open" {
			t.Errorf("MCP badge = %q, %v; want \"breaker open\"", badge, err)
		}
		headline, err := chromedp.Run(tab, chromedp.Text(chromedp.ID("headline-text")))
		if err != nil || headline == "" {
			t.Errorf("headline = %q, %v", headline, err)
		}
		statustest.Screenshot(t, tab, "status-breaker-open.png")

		src.setBreaker("MCP", HalfOpen, time.Now(), "cooldown of 1m0s elapsed")
		src.setBreaker("MCP", Closed, time.Now(), "2 trial calls succeeded")
		src.calls("MCP", 2, 0, 90*time.Millisecond)
		p.Sample()
		statustest.Do(t, tab, "wait for MCP closed again",
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
		statustest.Screenshot(t, tab, "status-breaker-closed.png")
	})

	t.Run("half an hour with two outages", func(t *testing.T) {
		clk := newFakeClock()
		src := newFakeSource("MCP", "BULK", "REST")
		p, err := New(src, Options{Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		story(p, src, clk, 10*time.Second)
		srv := httptest.NewServer(p)
		t.Cleanup(srv.Close) // after the tab closes, which ends its event stream
		tab := statustest.NewTab(t, ctx)
		statustest.Do(t, tab, "load the page",
			chromedp.Navigate(srv.URL+"/"),
			chromedp.WaitVisible(chromedp.CSS(`[data-tier="MCP"][data-breaker-state="open"]`)),
			chromedp.WaitReady(chromedp.CSS(`#live[data-live="sse"]`)),
		)
		statustest.Screenshot(t, tab, "status-half-hour.png")
	})
}
