// Package e2e drives the real zoho-mcp-proxy binary, on its embedded sandbox,
// with independent MCP clients: the TypeScript SDK and the Inspector CLI
// (from e2e/node, installed by `make node-deps`) and the official Go SDK.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/tierstest"
)

// binary is the proxy built once for the whole package by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "zmp-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "zoho-mcp-proxy")
	build := exec.Command("go", "build", "-o", binary, "../cmd/zoho-mcp-proxy")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the proxy:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// nodeDir is where `make node-deps` installs the npm clients.
const nodeDir = "node"

// requireNode returns the path of Node 22 from e2e/node, skipping the test
// when the npm clients are not installed — except under CI, where their
// absence is a failure.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := filepath.Abs(filepath.Join(nodeDir, "node_modules", ".bin", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(node); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("npm clients missing (%v): run `make node-deps`", err)
		}
		t.Skip("npm clients not installed; run `make node-deps`")
	}
	return node
}

// servingAddr returns the address in the proxy's "serving MCP over HTTP"
// log line (JSON lines), or "" before it is logged. The proxies under test
// listen on 127.0.0.1:0: a port picked beforehand and released could be
// taken in between (once, by the sandbox emulator the same process starts).
func servingAddr(logs string) string {
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving MCP over HTTP" && line.Addr != "" {
			return line.Addr
		}
	}
	return ""
}

// proxy is a running `serve --transport http --sandbox`.
type proxy struct {
	addr   string
	stderr *tierstest.Buffer
	cmd    *exec.Cmd
	done   chan struct{} // closed when the process has exited
}

func (p *proxy) url(path string) string { return "http://" + p.addr + path }

// startHTTP starts the proxy over HTTP on the sandbox with extra args and
// env, waits for /healthz, and stops it when the test ends.
func startHTTP(t *testing.T, env []string, args ...string) *proxy {
	t.Helper()
	p := &proxy{stderr: &tierstest.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, binary, append([]string{"serve", "--transport", "http", "--sandbox",
		"--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.cmd, p.done = cmd, done
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel()
			<-done
		}
		cancel()
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if p.addr == "" {
			p.addr = servingAddr(p.stderr.String())
		} else if resp, err := http.Get(p.url("/healthz")); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-done:
			t.Fatalf("proxy exited early: %s", p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("proxy not healthy in time: %s", p.stderr)
	return nil
}

// tsResult is what e2e/node/tsclient.mjs prints.
type tsResult struct {
	Mode            string                    `json:"mode"`
	ProtocolVersion string                    `json:"protocolVersion"`
	Tools           []string                  `json:"tools"`
	Annotations     map[string]map[string]any `json:"annotations"`
	Calls           map[string]tsCall         `json:"calls"`
}

type tsCall struct {
	IsError      bool           `json:"isError"`
	Text         string         `json:"text"`
	Structured   map[string]any `json:"structured"`
	Route        map[string]any `json:"route"`
	ContentTypes []string       `json:"contentTypes"`
	Thrown       string         `json:"thrown"`
}

// tsCallSpec is one tool call for tsclient.mjs.
type tsCallSpec struct {
	Label     string         `json:"label"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// runTS runs tsclient.mjs with the given mode and target.
func runTS(t *testing.T, env []string, calls []tsCallSpec, mode string, target ...string) tsResult {
	t.Helper()
	node := requireNode(t)
	spec, _ := json.Marshal(calls)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{"tsclient.mjs", mode}, target...)...)
	cmd.Dir = nodeDir
	cmd.Env = append(append(os.Environ(), env...), "TS_CALLS="+string(spec))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tsclient %s: %v\nstderr: %s\nstdout: %s", mode, err, stderr.String(), stdout.String())
	}
	var res tsResult
	if err := json.Unmarshal(bytes.TrimSpace(lastLine(stdout.Bytes())), &res); err != nil {
		t.Fatalf("tsclient output: %v\n%s", err, stdout.String())
	}
	return res
}

func lastLine(b []byte) []byte {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return []byte(lines[len(lines)-1])
}
