package status

import (
	"net/http"
	"testing"
	"time"
)

// BenchmarkSample measures one sample of a full half hour (180 slots, three
// tiers): recording, building the view and rendering the page and JSON.
func BenchmarkSample(b *testing.B) {
	clk := newFakeClock()
	src := newFakeSource("MCP", "BULK", "REST")
	p, err := New(src, Options{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	story(p, src, clk, 10*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		src.calls("MCP", 10, 0, 90*time.Millisecond)
		p.Sample()
		clk.Advance(10 * time.Second)
	}
	b.ReportMetric(float64(len(p.cur.Load().page)), "page-bytes")
}

// BenchmarkServePage measures serving the rendered page.
func BenchmarkServePage(b *testing.B) {
	clk := newFakeClock()
	src := newFakeSource("MCP", "BULK", "REST")
	p, err := New(src, Options{Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	story(p, src, clk, 10*time.Second)
	b.ReportAllocs()
	for b.Loop() {
		get(p, http.MethodGet, "/")
	}
}
