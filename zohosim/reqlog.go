package zohosim

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// maxLogEntries is the default bound of the request log (Options.RequestLog);
// older entries are dropped first.
const maxLogEntries = 100_000

// maxLoggedBody is how much of a request body the log keeps.
const maxLoggedBody = 64 << 10

// LoggedRequest is one request that reached the emulator. Status is 0 while
// the request is in flight and for requests never answered (hang faults).
// Body holds the first 64 KiB the handler read. The MCP endpoint key in
// paths is replaced by "{key}".
type LoggedRequest struct {
	Surface Surface   `json:"surface"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Query   string    `json:"query"`
	Body    []byte    `json:"body"`
	Status  int       `json:"status"`
	Time    time.Time `json:"time"`
}

// logEntry is a log slot being filled while its request runs.
type logEntry struct {
	LoggedRequest
	req *http.Request // the request the surface middleware handed on
}

// requestLog is the bounded request log plus the counters tests assert on.
type requestLog struct {
	mu        sync.Mutex
	max       int
	entries   []*logEntry // ring once full
	next      int         // ring write position once len(entries) == max
	perSurf   map[Surface]int
	refreshes int
	writes    map[string]int
}

func newRequestLog(max int) *requestLog {
	return &requestLog{max: max, perSurf: map[Surface]int{}, writes: map[string]int{}}
}

// begin logs a request's arrival and captures its body as the handler reads it.
func (l *requestLog) begin(sf Surface, r *http.Request, now time.Time, mcpKey string) *logEntry {
	path := r.URL.Path
	if mcpKey != "" {
		path = strings.ReplaceAll(path, "/"+mcpKey+"/", "/{key}/")
	}
	e := &logEntry{LoggedRequest: LoggedRequest{Surface: sf, Method: r.Method, Path: path,
		Query: r.URL.RawQuery, Time: now}}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = &captureBody{ReadCloser: r.Body, log: l, e: e}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.perSurf[sf]++
	if len(l.entries) < l.max {
		l.entries = append(l.entries, e)
	} else {
		l.entries[l.next] = e
		l.next = (l.next + 1) % l.max
	}
	return e
}

// finish records the status the request was answered with and lets go of
// the request: the log outlives it, and an *http.Request holds its headers,
// URL and context chain (several KB), which the log must not keep.
func (l *requestLog) finish(e *logEntry, status int) {
	l.mu.Lock()
	e.Status = status
	e.req = nil
	l.mu.Unlock()
}

// captureBody copies what the handler reads into the log entry.
type captureBody struct {
	io.ReadCloser
	log *requestLog
	e   *logEntry
}

func (c *captureBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		c.log.mu.Lock()
		if room := maxLoggedBody - len(c.e.Body); room > 0 {
			c.e.Body = append(c.e.Body, p[:min(n, room)]...)
		}
		c.log.mu.Unlock()
	}
	return n, err
}

func (l *requestLog) snapshot() []LoggedRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LoggedRequest, 0, len(l.entries))
	n := len(l.entries)
	for i := range n {
		e := l.entries[(l.next+i)%n]
		c := e.LoggedRequest
		c.Body = append([]byte(nil), e.Body...)
		out = append(out, c)
	}
	return out
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entries, l.next = nil, 0
	clear(l.perSurf)
	clear(l.writes)
	l.refreshes = 0
}

// Requests returns the logged requests, oldest first (at most the last
// Options.RequestLog, 100,000 by default).
func (s *Sim) Requests() []LoggedRequest { return s.reqlog.snapshot() }

// ResetLog forgets the request log and the counters (per surface, refreshes,
// record writes, the concurrency peaks, the MCP authorization counters).
// Credits used and token state are not reset.
func (s *Sim) ResetLog() {
	s.reqlog.reset()
	s.ResetConcurrencyPeak()
	if s.mcpAuth != nil {
		s.mcpAuth.resetStats()
	}
}

// RefreshCount returns the refresh-token grants seen (successful and failed,
// throttled included) since the last ResetLog.
func (s *Sim) RefreshCount() int {
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	return s.reqlog.refreshes
}

// RecordWrites returns how many writes were applied to record id since the
// last ResetLog, from any surface (REST, bulk write rows, MCP).
func (s *Sim) RecordWrites(id string) int {
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	return s.reqlog.writes[id]
}

// RequestCount returns how many requests reached the surface since the last
// ResetLog (an in-process MCP API call counts for SurfaceMCP).
func (s *Sim) RequestCount(surface Surface) int {
	s.reqlog.mu.Lock()
	defer s.reqlog.mu.Unlock()
	return s.reqlog.perSurf[surface]
}

// noteWrite counts one applied write of record id (bulk write rows included).
func (s *Sim) noteWrite(id string) {
	s.reqlog.mu.Lock()
	s.reqlog.writes[id]++
	s.reqlog.mu.Unlock()
}

func (s *Sim) noteRefresh() {
	s.reqlog.mu.Lock()
	s.reqlog.refreshes++
	s.reqlog.mu.Unlock()
}
