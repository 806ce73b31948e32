package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/permissions"
)

// StdioOptions configures ServeStdio.
type StdioOptions struct {
	// Profile is the one caller's profile (from --profile or the
	// permissions file's default_profile). Nil may use no tool.
	Profile *permissions.Profile
	// Caller is the one caller's identity (permissions.WithCaller): what
	// the tools keep for it (bulk results, job handles) is bound to it.
	// Empty means permissions.ProcessCaller().
	Caller permissions.Caller
	// In and Out carry JSON-RPC; nothing else is ever written to Out.
	In  io.Reader
	Out io.Writer
	// ShutdownGrace is how long in-flight calls get to finish once ctx
	// ends. Zero means 10s.
	ShutdownGrace time.Duration
	// Logger receives transport errors. Nil means slog.Default().
	Logger *slog.Logger
}

// ServeStdio serves m over stdio until the input ends (nil) or ctx ends; then
// new calls are refused, in-flight calls get ShutdownGrace to finish, and it
// returns nil.
func ServeStdio(ctx context.Context, m *MCP, o StdioOptions) error {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = 10 * time.Second
	}
	s := mcpserver.NewStdioServer(m.Server)
	s.SetErrorLogger(slog.NewLogLogger(o.Logger.Handler(), slog.LevelError))
	profile := o.Profile
	caller := o.Caller
	if caller == "" {
		caller = permissions.ProcessCaller()
	}
	// Progress notifications are written under the lock of mcp-go's own
	// lines, by the call itself, so they come before its answer (see
	// progress.go).
	out := &lineWriter{w: o.Out}
	s.SetContextFunc(func(ctx context.Context) context.Context {
		return withSender(permissions.WithCaller(permissions.WithProfile(ctx, profile), caller), out.send)
	})

	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Listen(lctx, o.In, out) }()

	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		o.Logger.Info("shutting down: finishing in-flight calls", "in_flight", m.InFlight(), "grace", o.ShutdownGrace.String())
		gctx, gcancel := context.WithTimeout(context.WithoutCancel(ctx), o.ShutdownGrace)
		if derr := m.Drain(gctx); derr != nil {
			o.Logger.Warn("shutdown grace period ended with calls still running", "error", derr.Error())
		}
		gcancel()
		cancel()
		err = <-done
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
