package mcp

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// redacted replaces every secret in text this package produces.
const redacted = "[REDACTED]"

// keyInPath matches the key segment of a hosted-MCP URL
// (/mcp/<key>/message) and keyInQuery the ?key=<key> form, so that even a key
// the redactor was not told about (say, a URL echoed back by a server) is
// hidden.
var (
	keyInPath  = regexp.MustCompile(`(/mcp/)[^/\s"'?#]+(/message)`)
	keyInQuery = regexp.MustCompile(`((?:^|[?&\s"'])(?:key|api_key|apikey|token|access_token)=)[^&\s"']+`)
)

// redactor hides the endpoint key and other secrets in text. The zero value
// hides only what the patterns catch.
type redactor struct {
	secrets []string // longest first, so a secret that contains another goes whole
}

// newRedactor returns a redactor for the endpoint's key (its path segment
// after /mcp/, any non-structural path segment that looks like a key, and its
// key query value) and for the extra secrets given (client secret, tokens).
func newRedactor(endpoint string, extra ...string) *redactor {
	r := &redactor{}
	add := func(s string) {
		if len(s) >= 6 { // shorter strings are not keys and would mangle text
			r.secrets = append(r.secrets, s)
		}
	}
	for _, s := range extra {
		add(s)
	}
	if u, err := url.Parse(endpoint); err == nil {
		segs := strings.Split(strings.Trim(u.EscapedPath(), "/"), "/")
		for i, s := range segs {
			if i > 0 && segs[i-1] == "mcp" || looksLikeKey(s) {
				add(s)
				if un, err := url.PathUnescape(s); err == nil && un != s {
					add(un)
				}
			}
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
				add(url.QueryEscape(v))
			}
		}
		if u.User != nil {
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
	}
	sort.Slice(r.secrets, func(i, j int) bool { return len(r.secrets[i]) > len(r.secrets[j]) })
	return r
}

// with returns a copy of r that also hides extra (a bearer token obtained at
// run time). r itself is never changed, so it is safe to share.
func (r *redactor) with(extra ...string) *redactor {
	n := &redactor{secrets: append([]string(nil), r.secrets...)}
	for _, s := range extra {
		if len(s) >= 6 {
			n.secrets = append(n.secrets, s)
		}
	}
	sort.Slice(n.secrets, func(i, j int) bool { return len(n.secrets[i]) > len(n.secrets[j]) })
	return n
}

// looksLikeKey reports whether a path segment is long and random enough to be
// a secret key: 20+ characters of hex, or 24+ of URL-safe base64.
func looksLikeKey(s string) bool {
	if len(s) < 20 {
		return false
	}
	hex := true
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case c >= 'g' && c <= 'z', c >= 'G' && c <= 'Z', c == '-', c == '_':
			hex = false
		default:
			return false
		}
	}
	return hex || len(s) >= 24
}

// String returns s with every secret replaced by [REDACTED].
func (r *redactor) String(s string) string {
	if r != nil {
		for _, sec := range r.secrets {
			if strings.Contains(s, sec) {
				s = strings.ReplaceAll(s, sec, redacted)
			}
		}
	}
	s = keyInPath.ReplaceAllString(s, "${1}"+redacted+"${2}")
	s = keyInQuery.ReplaceAllString(s, "${1}"+redacted)
	return s
}

// redactedError is an error whose text has been through a redactor. It keeps
// its cause for errors.Is (so context.DeadlineExceeded and transport
// sentinels still match) but does not unwrap to it, so no code can reach the
// unredacted text through errors.As.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }

// Is reports whether the cause is target.
func (e *redactedError) Is(target error) bool {
	return errors.Is(e.cause, target)
}

// Error wraps err with its text redacted; nil stays nil.
func (r *redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: r.String(err.Error()), cause: err}
}

// redactHandler is a slog.Handler that redacts the message and every string
// attribute before passing the record on. mcp-go's transport logs errors that
// carry the request URL; this keeps the key out of our logs.
type redactHandler struct {
	next slog.Handler
	r    *redactor
}

func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *redactHandler) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, h.r.String(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.String(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, 0, len(g))
		for _, x := range g {
			out = append(out, h.attr(x))
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, h.r.String(err.Error()))
		}
		return slog.String(a.Key, h.r.String(v.String()))
	default:
		return slog.Attr{Key: a.Key, Value: v}
	}
}

func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(as))
	for i, a := range as {
		red[i] = h.attr(a)
	}
	return &redactHandler{next: h.next.WithAttrs(red), r: h.r}
}

func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{next: h.next.WithGroup(name), r: h.r}
}
