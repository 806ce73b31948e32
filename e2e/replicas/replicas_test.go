// Package replicas runs three real proxy processes behind one load balancer
// against one emulator, sharing state through a real redis-server, and
// checks what issue 13 promises: one token refresh per credential, one
// breaker for all, the org's concurrency limit kept across replicas, and no
// call lost when a replica dies. It skips when redis-server is not
// installed (scripts/deps-redis.sh installs it).
package replicas

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// binary is the proxy, built once by TestMain when redis-server is there.
var binary string

func TestMain(m *testing.M) {
	code := func() int {
		if _, err := exec.LookPath("redis-server"); err == nil {
			dir, err := os.MkdirTemp("", "zmp-replicas-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			binary = filepath.Join(dir, "zoho-mcp-proxy")
			build := exec.Command("go", "build", "-o", binary, "../../cmd/zoho-mcp-proxy")
			build.Stderr = os.Stderr
			if err := build.Run(); err != nil {
				fmt.Fprintln(os.Stderr, "building the proxy:", err)
				return 1
			}
		}
		return m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(
			// Keep-alive connections of the clients' transports.
			goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
			goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// replica is one running `zoho-mcp-proxy serve --transport http`.
type replica struct {
	name  string
	addr  string
	logs  *tierstest.Buffer
	cmd   *exec.Cmd
	done  chan struct{} // closed when the process has exited
	alive atomic.Bool   // the load balancer sends to it
}

// startReplica starts a replica with env (and nothing of the test's own
// environment but PATH) and waits for /healthz.
func startReplica(t *testing.T, name string, env []string) *replica {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &replica{name: name, addr: addr, logs: &tierstest.Buffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(binary, "serve", "--transport", "http", "--addr", addr, "--log-format", "json")
	r.cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"ZOHO_MCP_PROXY_CACHE_DIR=" + t.TempDir()}, env...)
	r.cmd.Stdout, r.cmd.Stderr = r.logs, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = r.cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				r.alive.Store(true)
				return r
			}
		}
		select {
		case <-r.done:
			t.Fatalf("replica %s exited at start: %s", name, r.logs)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica %s not healthy in time: %s", name, r.logs)
		}
	}
}

// kill ends the process at once (SIGKILL: no graceful shutdown, no lease
// or lock released), takes it out of the balancer as its health check
// would, and waits until it is gone. Requests already on their way to it
// fail at the transport and are sent again by the caller; new ones go to
// the live replicas (marking it only after the wait let a call's every
// retry meet the dead port while the process was being reaped).
func (r *replica) kill() {
	_ = r.cmd.Process.Kill()
	r.alive.Store(false)
	<-r.done
}

// get fetches path from the replica.
func (r *replica) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + r.addr + path)
	if err != nil {
		t.Fatalf("replica %s %s: %v", r.name, path, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// balancer is the load balancer in front of the replicas: every request
// (each MCP message, whatever session it belongs to) goes to the next live
// replica in turn, so no session sticks to a replica. It does not retry:
// a request to a replica that died fails, as it would behind a real load
// balancer, and the caller retries.
type balancer struct {
	reps []*replica
	next atomic.Uint64
	base http.RoundTripper
	sent []atomic.Int64 // requests sent to each replica
}

func (b *balancer) RoundTrip(req *http.Request) (*http.Response, error) {
	for range len(b.reps) {
		i := int(b.next.Add(1) % uint64(len(b.reps)))
		if !b.reps[i].alive.Load() {
			continue
		}
		b.sent[i].Add(1)
		out := req.Clone(req.Context())
		out.URL.Host, out.Host = b.reps[i].addr, ""
		return b.base.RoundTrip(out)
	}
	return nil, errors.New("balancer: no live replica")
}

// refreshesOf counts the refresh grants the emulator's token endpoint
// received for the refresh token rt.
func refreshesOf(reqs []loggedRequest, rt string) int {
	n := 0
	for _, r := range reqs {
		if r.Path != "/oauth/v2/token" {
			continue
		}
		f, err := url.ParseQuery(string(r.Body))
		if err == nil && f.Get("grant_type") == "refresh_token" && f.Get("refresh_token") == rt {
			n++
		}
	}
	return n
}

// startRedis starts redis-server for t (skipping t without it).
func startRedis(t *testing.T) *redistest.Server {
	t.Helper()
	srv := redistest.Start(t)
	if binary == "" {
		t.Fatal("redis-server appeared after TestMain looked for it")
	}
	return srv
}

// waitFor polls cond every 10 ms until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}
