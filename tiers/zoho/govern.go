package zoho

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// GovernTransport holds a slot of Governor (and, for a heavy call, of Heavy
// first) for each round trip, from before the request is sent until its
// answer's body is read to the end or closed — a call is in flight at Zoho
// until its answer is complete. A round trip that cannot get a slot before
// its context ends is not sent (a *QueueError). nil governors bound
// nothing.
type GovernTransport struct {
	Next     http.RoundTripper
	Governor tiers.Governor
	// Heavy bounds the calls Zoho counts in its sub-concurrency group (see
	// heavyKey); they take a Heavy slot before a Governor slot, always in
	// that order, so that no two calls wait for each other's slot.
	Heavy tiers.Governor
}

// heavyKey marks a request's context as a heavy call (Client.send sets it).
type heavyKey struct{}

// withHeavy marks ctx's request as a heavy call.
func withHeavy(ctx context.Context) context.Context { return context.WithValue(ctx, heavyKey{}, true) }

// QueueError is a round trip that waited for a free concurrency slot until
// its context ended: it was never sent.
type QueueError struct{ Err error }

func (e *QueueError) Error() string {
	return "no Zoho concurrency slot came free in time: " + e.Err.Error()
}

// Unwrap returns the context's error.
func (e *QueueError) Unwrap() error { return e.Err }

// RoundTrip implements http.RoundTripper.
func (t *GovernTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	first, second := t.Governor, tiers.Governor(nil)
	if heavy, _ := ctx.Value(heavyKey{}).(bool); heavy {
		first, second = t.Heavy, t.Governor
	}
	rel1, err := acquire(ctx, first)
	if err != nil {
		closeBody(req)
		return nil, &QueueError{Err: err}
	}
	rel2, err := acquire(ctx, second)
	if err != nil {
		release(rel2, rel1)
		closeBody(req)
		return nil, &QueueError{Err: err}
	}
	if rel1 == nil && rel2 == nil {
		return t.Next.RoundTrip(req)
	}
	resp, err := t.Next.RoundTrip(req)
	if err != nil {
		release(rel2, rel1)
		return nil, err
	}
	resp.Body = &releaseBody{ReadCloser: resp.Body, rels: [2]func(){rel2, rel1}}
	return resp, nil
}

// acquire takes a slot of g; a nil g bounds nothing (a nil release).
func acquire(ctx context.Context, g tiers.Governor) (func(), error) {
	if g == nil {
		return nil, nil
	}
	return g.Acquire(ctx)
}

// release calls the releases that are not nil, in order.
func release(rels ...func()) {
	for _, r := range rels {
		if r != nil {
			r()
		}
	}
}

// CloseIdleConnections closes the wrapped transport's idle connections.
func (t *GovernTransport) CloseIdleConnections() {
	if c, ok := t.Next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// releaseBody releases its round trip's slots (rels, the last taken first)
// once the body is read to the end (or fails) or closed.
type releaseBody struct {
	io.ReadCloser
	rels [2]func()
	done atomic.Bool
}

func (b *releaseBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.release()
	}
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

func (b *releaseBody) release() {
	if b.done.CompareAndSwap(false, true) {
		release(b.rels[:]...)
	}
}

// heavyCall reports whether Zoho counts a call in its sub-concurrency group
// (reference §9.3): COQL, a bulk job's creation, and a records write of more
// than 10 records (body's data[]).
func heavyCall(method, path string, body any) bool {
	switch {
	case path == "/crm/v8/coql":
		return true
	case strings.HasPrefix(path, "/crm/bulk/"):
		return method == http.MethodPost
	case !isWrite(method):
		return false
	}
	m, ok := body.(map[string]any)
	if !ok {
		return false
	}
	v := reflect.ValueOf(m["data"])
	return v.Kind() == reflect.Slice && v.Len() > 10
}

// isQueueError reports whether err is a round trip that never got a slot.
func isQueueError(err error) bool {
	var qe *QueueError
	return errors.As(err, &qe)
}
