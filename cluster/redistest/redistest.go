// Package redistest starts a real, throw-away redis-server for tests.
//
// Each Start runs its own redis-server on a free 127.0.0.1 port with a
// temporary working directory and no persistence, waits until it answers
// PING, and stops it (and removes the directory) when the test ends. When
// redis-server is not installed the test is skipped with a message saying
// how to install it, so the suite still passes on a machine without it.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SkipMessage is what a test skipped for want of redis-server says.
const SkipMessage = "redis-server not found: install the Debian package redis-server (scripts/deps-redis.sh)"

// startTimeout bounds how long Start waits for the server to answer PING.
// It is generous: a loaded CI machine may be slow to exec.
const startTimeout = 20 * time.Second

// Server is one running redis-server.
type Server struct {
	// Addr is the server's host:port on 127.0.0.1.
	Addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// URL returns the server's redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr + "/0" }

// Start starts a redis-server for t and stops it when t ends. It skips t
// when redis-server is not installed and fails t when it cannot be started.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip(SkipMessage)
	}
	dir := t.TempDir()
	// A port picked by the kernel may be taken again before redis-server
	// binds it; retry a few times with a new one.
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: no free port: %v", err)
		}
		s, err := start(bin, dir, port)
		if err == nil {
			t.Cleanup(s.stop)
			return s
		}
		lastErr = err
	}
	t.Fatalf("redistest: cannot start redis-server: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(bin, dir string, port int) (*Server, error) {
	logf, err := os.CreateTemp(dir, "redis-*.log")
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir,
		"--daemonize", "no", "--protected-mode", "yes")
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so that a signal to the test's group does not
	// reach it before cleanup, and cleanup kills exactly this process.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(startTimeout)
	for {
		if err := ping(s.Addr); err == nil {
			return s, nil
		} else if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("no PING answer within %s: %v (log: %s)", startTimeout, err, tail(logf.Name()))
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("redis-server exited at start: %s", tail(logf.Name()))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// ping sends an inline PING and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "+PONG" {
		return errors.New("unexpected answer " + strconv.Quote(line))
	}
	return nil
}

// Stop kills the server now (to test what clients do when Redis dies). It
// is safe to call more than once; cleanup calls it too.
func (s *Server) Stop() { s.stop() }

func (s *Server) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Pause stops the server process (SIGSTOP) so that it accepts connections
// but answers nothing, like an overloaded Redis; the returned func resumes
// it. Cleanup resumes it too.
func (s *Server) Pause(t testing.TB) (resume func()) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatalf("redistest: cannot pause redis-server: %v", err)
	}
	var once bool
	resume = func() {
		if !once {
			once = true
			_ = s.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	t.Cleanup(resume)
	return resume
}

func tail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}
