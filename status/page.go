package status

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Page. The zero value works: a sample every 10
// seconds, the last 30 minutes kept, latency percentiles and success rates over a
// rolling minute,
// 20 breaker transitions kept per tier, and at most 8 event streams of at
// most 5 minutes each with a heartbeat every 15 seconds.
type Options struct {
	// Title names the proxy in the page's title. Empty means
	// "zoho-mcp-proxy".
	Title string
	// Interval is how often the source is sampled, and the resolution of
	// every series. Zero means 10s.
	Interval time.Duration
	// History is how long samples are kept: History/Interval slots, at
	// most 100,000. Zero means 30m.
	History time.Duration
	// Window is the rolling window of the latency percentiles and the
	// success rate series, in whole intervals, at most History. Zero means
	// 1m.
	Window time.Duration
	// Transitions is how many breaker transitions are kept per tier. Zero
	// means 20.
	Transitions int
	// MaxStreams caps the event streams open at once; one more is refused
	// with 503 (the page then polls). Zero means 8.
	MaxStreams int
	// StreamLifetime ends an event stream after this long; the browser
	// reconnects on its own. Zero means 5m.
	StreamLifetime time.Duration
	// Heartbeat is how often an idle event stream gets a comment line, so
	// that proxies and the browser see it alive. Zero means 15s.
	Heartbeat time.Duration
	// WriteTimeout bounds each write to an event stream; a client that
	// stops reading loses its stream. Zero means 10s.
	WriteTimeout time.Duration
	// Clock is the time the page reads and waits on. Nil means WallClock.
	Clock Clock
	// Logger receives render failures (which are bugs). Nil means none.
	Logger *slog.Logger
}

func (o Options) withDefaults() (Options, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.Interval, 10*time.Second)
	def(&o.History, 30*time.Minute)
	def(&o.Window, time.Minute)
	def(&o.StreamLifetime, 5*time.Minute)
	def(&o.Heartbeat, 15*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	if o.Title == "" {
		o.Title = "zoho-mcp-proxy"
	}
	if o.Transitions == 0 {
		o.Transitions = 20
	}
	if o.MaxStreams == 0 {
		o.MaxStreams = 8
	}
	if o.Clock == nil {
		o.Clock = WallClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Interval", o.Interval}, {"History", o.History}, {"Window", o.Window},
		{"StreamLifetime", o.StreamLifetime}, {"Heartbeat", o.Heartbeat}, {"WriteTimeout", o.WriteTimeout}} {
		if d.v < 0 {
			return o, fmt.Errorf("status: %s is %v; it must be positive", d.name, d.v)
		}
	}
	switch {
	case o.Transitions < 0:
		return o, fmt.Errorf("status: Transitions is %d; it must be positive", o.Transitions)
	case o.MaxStreams < 0:
		return o, fmt.Errorf("status: MaxStreams is %d; it must be positive", o.MaxStreams)
	case o.History < 2*o.Interval:
		return o, fmt.Errorf("status: History (%v) must hold at least two intervals of %v", o.History, o.Interval)
	case o.History/o.Interval > maxSlots:
		return o, fmt.Errorf("status: History/Interval is %d slots; at most %d are kept: raise Interval or lower History",
			o.History/o.Interval, maxSlots)
	}
	return o, nil
}

// Page is the status page: it samples a Source and serves what it recorded
// (see ServeHTTP). It is safe for concurrent use.
type Page struct {
	o       Options
	rec     *recorder
	streams atomic.Int32

	mu      sync.Mutex // serializes sampling and rendering
	cur     atomic.Pointer[rendered]
	updated atomic.Pointer[chan struct{}] // closed and replaced after each sample
}

// rendered is one sample's output, shared by every request until the next.
type rendered struct {
	view View
	main []byte // the live part of the page
	page []byte // the whole page
	json []byte
}

// New returns a page over src. It samples nothing until Run or Sample.
func New(src Source, o Options) (*Page, error) {
	if src == nil {
		return nil, fmt.Errorf("status: a nil Source was passed to New")
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Page{o: o, rec: newRecorder(src, o)}
	ch := make(chan struct{})
	p.updated.Store(&ch)
	if err := p.render(); err != nil {
		return nil, err
	}
	return p, nil
}

// Run samples the source once at once and then every Interval, until ctx
// ends; it returns nil then.
func (p *Page) Run(ctx context.Context) error {
	t := p.o.Clock.NewTicker(p.o.Interval)
	defer t.Stop()
	p.Sample()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C():
			p.Sample()
		}
	}
}

// Sample takes one sample now, renders the page and wakes the event
// streams. Run calls it on its ticker; tests call it directly.
func (p *Page) Sample() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rec.sample()
	if err := p.render(); err != nil {
		p.o.Logger.Error("status page: render failed", "error", err.Error())
		return
	}
	ch := make(chan struct{})
	close(*p.updated.Swap(&ch))
}

// View returns the page's data as of the latest sample. It is shared with
// the page's readers: do not modify it.
func (p *Page) View() View { return p.cur.Load().view }

func (p *Page) render() error {
	v := p.rec.view()
	main, err := renderMain(v, p.o.Title)
	if err != nil {
		return err
	}
	page, err := renderPage(main, p.o.Title, v.Level, p.refreshSeconds())
	if err != nil {
		return err
	}
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p.cur.Store(&rendered{view: v, main: main, page: page, json: js})
	return nil
}

// refreshSeconds is how often the page reloads without JavaScript: the
// sampling interval, at least 5 seconds.
func (p *Page) refreshSeconds() int {
	return max(int(p.o.Interval/time.Second), 5)
}
