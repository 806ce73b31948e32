package redistest_test

import (
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/cluster/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartServesAndStopKills(t *testing.T) {
	srv := redistest.Start(t)
	host, _, err := net.SplitHostPort(srv.Addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr %q: not on 127.0.0.1", srv.Addr)
	}
	c, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.Close()
	srv.Stop()
	srv.Stop() // idempotent
	if c, err := net.Dial("tcp", srv.Addr); err == nil {
		c.Close()
		t.Fatal("redis-server still listening after Stop")
	}
}

func TestTwoServersAreIndependent(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr == b.Addr {
		t.Fatal("two servers on one address")
	}
}
