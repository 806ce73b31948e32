package zohosim

import (
	"bytes"
	"context"
	"net/http"
)

// surfaceHandler wraps a surface's handler: it tracks the request for Close,
// logs it, applies the surface's fault and turns a panic into Zoho's 500
// INTERNAL_ERROR envelope.
func (s *Sim) surfaceHandler(sf Surface, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.enter() {
			panic(http.ErrAbortHandler)
		}
		defer s.handlers.Done()
		e := s.reqlog.begin(sf, r, s.now(), s.opts.MCPKey)
		ctx := context.WithValue(r.Context(), keySurface, sf)
		f, faulted := s.takeFault(sf)
		if faulted {
			ctx = context.WithValue(ctx, keyFault, f)
		}
		ctx = context.WithValue(ctx, keyEntry, e)
		r = r.WithContext(ctx)
		e.req = r
		sw := &statusWriter{ResponseWriter: w}
		defer func() { s.reqlog.finish(e, sw.status) }()
		defer recoverInternal(sw)
		if faulted && s.applyFault(f, sw, r, h) {
			return
		}
		h.ServeHTTP(sw, r)
	})
}

// enter registers an in-flight request; false once the emulator is closing.
func (s *Sim) enter() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return false
	}
	s.handlers.Add(1)
	return true
}

// recoverInternal answers a handler panic with 500 INTERNAL_ERROR (Zoho's
// envelope) instead of a dropped connection; http.ErrAbortHandler passes.
func recoverInternal(w *statusWriter) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
		panic(v)
	}
	if w.status == 0 {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "Internal Server Error", nil)
	}
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers (the MCP look-alike's SSE) flush.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// bufferWriter is an in-memory ResponseWriter (for faults that process a
// request but do not answer it faithfully, and for in-process calls).
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newBufferWriter() *bufferWriter { return &bufferWriter{header: http.Header{}} }

func (b *bufferWriter) Header() http.Header { return b.header }

func (b *bufferWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Flush is a no-op so streaming handlers work against the buffer.
func (b *bufferWriter) Flush() {}
