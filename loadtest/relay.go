package loadtest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/server"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// The relay is compare's floor: an HTTP hop that does nothing but relay,
// so that the proxy's added latency and CPU can be set against what any Go
// HTTP hop costs on the same machine in the same run. It is net/http's
// ReverseProxy with its defaults, but for the proxy's own upstream
// transport (keep-alives, 64 idle connections per host) and a pool of copy
// buffers.

// relayHandler relays every request to target.
func relayHandler(target *url.URL) (http.Handler, *http.Transport) {
	tr := zoho.DefaultTransport()
	return &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) }, // the upstream's Host, no X-Forwarded-*
		Transport: tr,
		// Streamable HTTP answers (JSON or SSE) pass through as they are
		// written, as the proxy passes them.
		FlushInterval: -1,
		// Without a pool it allocates a 32 KiB copy buffer per answer,
		// which is a default, not a cost of the hop.
		BufferPool: &bufferPool{},
	}, tr
}

// withProbes serves h, except /healthz and /metrics, which it answers
// itself: the harness waits on the one and reads the hop's allocation
// count from the other exactly as it reads the proxy's (the same Go and
// process collectors the proxy registers).
func withProbes(h http.Handler) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case server.PathHealthz:
			w.WriteHeader(http.StatusOK)
		case server.PathMetrics:
			metrics.ServeHTTP(w, r)
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// bufferPool lends ReverseProxy its copy buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

// RelayMain is `zmp-load relay [-mcp] -to URL -addr HOST:PORT`: it relays
// to URL on HOST:PORT until ctx ends; with -mcp it is the MCP relay (see
// mcpRelayHandler) and URL is the upstream MCP endpoint.
func RelayMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	to := fs.String("to", "", "upstream base URL, e.g. http://127.0.0.1:8080 (with -mcp: the MCP endpoint)")
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	asMCP := fs.Bool("mcp", false, "relay as an MCP server built on mcp-go, not as an HTTP reverse proxy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	target, err := url.Parse(*to)
	if err != nil || target.Scheme == "" || target.Host == "" {
		return fmt.Errorf("relay: -to %q is not a base URL", *to)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	stop, err := serveHop(ctx, ln, target, *asMCP)
	if err != nil {
		return errors.Join(err, ln.Close())
	}
	<-ctx.Done()
	return stop()
}

// serveHop serves the relay to target on ln, the MCP relay when asMCP, and
// returns its stop.
func serveHop(ctx context.Context, ln net.Listener, target *url.URL, asMCP bool) (stop func() error, err error) {
	var h http.Handler
	var closeUp func() error
	if asMCP {
		if h, closeUp, err = mcpRelayHandler(ctx, target.String()); err != nil {
			return nil, err
		}
	} else {
		var tr *http.Transport
		h, tr = relayHandler(target)
		closeUp = func() error { tr.CloseIdleConnections(); return nil }
	}
	srv := &http.Server{Handler: withProbes(h), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		if err != nil {
			err = errors.Join(err, srv.Close())
		}
		if serr := <-done; !errors.Is(serr, http.ErrServerClosed) {
			err = errors.Join(err, serr)
		}
		return errors.Join(err, closeUp())
	}, nil
}

// StartRelay starts a relay to the base URL target and waits until it
// answers. command starts it as a process of its own (e.g. zmp-load
// relay); empty runs it in this process. The relay is a Proxy: its URL is
// the relay's base URL, and Usage reads its CPU and allocations as a
// proxy's are read.
func StartRelay(ctx context.Context, command []string, target string) (*Proxy, error) {
	return startHop(ctx, command, target, false)
}

// StartMCPRelay starts the MCP relay to the MCP endpoint as StartRelay
// starts the relay (command gets -mcp); it serves MCP on any path of its
// URL.
func StartMCPRelay(ctx context.Context, command []string, endpoint string) (*Proxy, error) {
	return startHop(ctx, command, endpoint, true)
}

func startHop(ctx context.Context, command []string, target string, asMCP bool) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{hc: &http.Client{Timeout: 5 * time.Second}}
	if len(command) == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		if p.stop, err = serveHop(ctx, ln, u, asMCP); err != nil {
			return nil, errors.Join(err, ln.Close())
		}
		p.URL = "http://" + ln.Addr().String()
	} else {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		args := append(command[1:len(command):len(command)], "-to", target, "-addr", addr)
		if asMCP {
			args = append(args, "-mcp")
		}
		cmd := exec.Command(command[0], args...)
		// The collector runs as the proxy's does (cmd/zoho-mcp-proxy sets
		// GOGC=200 unless GOGC is set), so that the yardsticks differ from
		// the proxy in the work per call, not in a runtime setting.
		cmd.Env = append(BaseEnv(), "GOGC=200")
		if err := p.spawn(cmd, nil); err != nil {
			return nil, err
		}
		p.URL = "http://" + addr
	}
	if err := p.waitHealthy(ctx, 15*time.Second); err != nil {
		_ = p.Close()
		return nil, err
	}
	return p, nil
}
