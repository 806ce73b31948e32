package status

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// The paths ServeHTTP answers, relative to where the page is mounted (the
// page refers to the event stream relatively, so it works under a prefix
// stripped with http.StripPrefix too).
const (
	PathPage   = "/"              // the HTML page
	PathJSON   = "/status.json"   // the View as JSON
	PathEvents = "/status/events" // the live part of the page, re-rendered after each sample, as server-sent events
)

// ServeHTTP serves the page, its JSON and its event stream (see the Path
// constants) to GET and HEAD; other paths get 404 and other methods 405.
// Every answer is marked no-store; the page carries a Content-Security-Policy
// that allows only its own inline style and script (by hash) and requests to
// its own origin.
func (p *Page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case PathPage, PathJSON, PathEvents:
	default:
		http.Error(w, "not found: the status page is at "+PathPage, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: use GET", http.StatusMethodNotAllowed)
		return
	}
	cur := p.cur.Load()
	switch r.URL.Path {
	case PathPage:
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		serveBytes(w, r, cur.page)
	case PathJSON:
		h.Set("Content-Type", "application/json")
		serveBytes(w, r, cur.json)
	case PathEvents:
		p.serveEvents(w, r)
	}
}

func serveBytes(w http.ResponseWriter, r *http.Request, b []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}

// serveEvents streams the live part of the page: an "update" event at once
// and after each sample, a comment line every Heartbeat, until the client
// goes, a write stalls for WriteTimeout, or StreamLifetime has passed (the
// browser then reconnects). It runs on the request's goroutine and starts
// none.
func (p *Page) serveEvents(w http.ResponseWriter, r *http.Request) {
	if n := p.streams.Add(1); int(n) > p.o.MaxStreams {
		p.streams.Add(-1)
		w.Header().Set("Retry-After", strconv.Itoa(int(p.o.Interval/time.Second)+1))
		http.Error(w, "too many status streams are open; the page falls back to polling", http.StatusServiceUnavailable)
		return
	}
	defer p.streams.Add(-1)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	// The stream leaves a write deadline on its connection, which a request
	// sent on it later would inherit: the connection is not reused.
	h.Set("Connection", "close")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	send := func(b []byte) bool {
		// Connection deadlines are wall-clock times, whatever the Clock.
		_ = rc.SetWriteDeadline(time.Now().Add(p.o.WriteTimeout))
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	life := p.o.Clock.NewTimer(p.o.StreamLifetime)
	defer life.Stop()
	beat := p.o.Clock.NewTicker(p.o.Heartbeat)
	defer beat.Stop()

	// Tell the browser to reconnect soon after the stream ends.
	if !send([]byte("retry: 2000\n\n")) {
		return
	}
	ctx := r.Context()
	var sent *rendered
	for {
		updated := *p.updated.Load()
		if cur := p.cur.Load(); cur != sent {
			if !send(event("update", cur.view.Samples, cur.main)) {
				return
			}
			sent = cur
		}
		select {
		case <-ctx.Done():
			return
		case <-life.C():
			return
		case <-beat.C():
			if !send([]byte(": keep-alive\n\n")) {
				return
			}
		case <-updated:
		}
	}
}

// event formats one server-sent event whose data is b, one "data:" field
// per line.
func event(name string, id uint64, b []byte) []byte {
	var e bytes.Buffer
	e.Grow(len(b) + len(b)/64 + 64)
	e.WriteString("event: ")
	e.WriteString(name)
	e.WriteString("\nid: ")
	e.WriteString(strconv.FormatUint(id, 10))
	e.WriteByte('\n')
	// A lone CR ends a line in an event stream too.
	b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
	for line := range bytes.Lines(b) {
		line = bytes.TrimSuffix(line, []byte("\n"))
		e.WriteString("data: ")
		e.Write(line)
		e.WriteByte('\n')
	}
	e.WriteByte('\n')
	return e.Bytes()
}
