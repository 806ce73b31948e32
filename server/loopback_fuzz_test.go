package server

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	mcpserver "github.com/mark3labs/mcp-go/server"
)

// fixedAddr is a net.Addr whose String is any text.
type fixedAddr string

func (a fixedAddr) Network() string { return "tcp" }
func (a fixedAddr) String() string  { return string(a) }

// mcpgoSaysLoopback reports how mcp-go's own (unexported) isLoopbackHost
// decides addr, read off its DNS-rebinding check in front of s: a
// connection on local address addr with a foreign Host is refused exactly
// when addr is loopback, and a loopback connection naming Host addr is
// refused exactly when addr is not. The two readings must agree.
func mcpgoSaysLoopback(t *testing.T, s http.Handler, addr string) bool {
	t.Helper()
	refused := func(local net.Addr, host string) bool {
		req := httptest.NewRequest(http.MethodPut, "/mcp", nil)
		req.Host = host
		req = req.WithContext(contextWithLocalAddr(req, local))
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code == http.StatusForbidden && strings.HasPrefix(rec.Body.String(), "Forbidden: invalid Host header")
	}
	asLocal := refused(fixedAddr(addr), "evil.example")
	asHost := !refused(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, addr)
	if asLocal != asHost {
		t.Fatalf("mcp-go decides %q as loopback=%v as a local address, %v as a Host", addr, asLocal, asHost)
	}
	return asLocal
}

func contextWithLocalAddr(r *http.Request, a net.Addr) context.Context {
	return context.WithValue(r.Context(), http.LocalAddrContextKey, a)
}

// FuzzLoopbackHost compares isLoopbackHost, which Security and the fast
// path's rebinding check share, with mcp-go's own. (It once compared the
// fast path's mirror of mcp-go with Security's variant, which trimmed
// brackets also from what SplitHostPort returned: ≈83k inputs, no
// difference, so one was kept.)
func FuzzLoopbackHost(f *testing.F) {
	for _, s := range []string{
		"localhost", "LOCALHOST:1", "127.0.0.1", "127.0.0.1:8765", "127.1.2.3", "[::1]", "[::1]:1", "::1",
		"[[::1]]", "[[::1]]:1", "[::1", "::1]", "[localhost]", "[localhost]:1", "[127.0.0.1]:1", "[]", "[", "]", "",
		":1", "localhost:", "evil.example", "127.0.0.1.evil.example", "[::ffff:127.0.0.1]:1", "::ffff:127.0.0.1",
		"[fe80::1%lo0]:1", "[::1%eth0]", "0.0.0.0", "[::]", "localhost:1:2", "[::1]:1]", "[[::1]:1",
	} {
		f.Add(s)
	}
	s := mcpserver.NewStreamableHTTPServer(mcpserver.NewMCPServer("loopback", "1"))
	f.Fuzz(func(t *testing.T, addr string) {
		if got, want := isLoopbackHost(addr), mcpgoSaysLoopback(t, s, addr); got != want {
			t.Errorf("isLoopbackHost(%q) = %v, mcp-go says %v", addr, got, want)
		}
	})
}
