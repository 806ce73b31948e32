package permissions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// Caller identifies who makes a call, as precisely as the transport can
// tell: one bearer token over HTTP, the one local caller of an HTTP
// listener without tokens, or one stdio process. What the proxy keeps for a
// caller (bulk results, job handles) is bound to it, and per-caller limits
// (sessions, in-flight requests, result quotas) count by it. A Caller never
// holds a secret: a token is named by a prefix of its SHA-256. The empty
// Caller is no caller: it may own nothing.
type Caller string

// LocalCaller is every caller of an HTTP listener whose policy has no
// bearer tokens (a loopback-only listener): the proxy cannot tell them
// apart.
const LocalCaller Caller = "local"

// TokenCaller returns the caller of a bearer token: "token:" and 16 hex
// digits of the token's SHA-256. The empty token is LocalCaller.
func TokenCaller(token string) Caller {
	if token == "" {
		return LocalCaller
	}
	sum := sha256.Sum256([]byte(token))
	return Caller("token:" + hex.EncodeToString(sum[:8]))
}

// processCaller is this process's stdio caller, drawn once.
var processCaller = func() Caller {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return Caller("stdio:" + hex.EncodeToString(b[:]))
}()

// ProcessCaller returns the caller of this process's stdio transport:
// "stdio:" and 16 random hex digits drawn when the process starts, so that
// two stdio processes (on one machine or sharing a store) are two callers.
func ProcessCaller() Caller { return processCaller }

type callerKey struct{}

// WithCaller returns a context carrying the caller's identity.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller set by WithCaller, or "" (no caller) when
// none was set.
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// WithIdentity returns a context carrying the caller's profile and identity
// as one value: ProfileFrom returns p and CallerFrom returns c, as after
// WithCaller(WithProfile(ctx, p), c), in one allocation where those make
// three (two values and the boxed caller) on every request.
func WithIdentity(ctx context.Context, p *Profile, c Caller) context.Context {
	id := &identityCtx{Context: ctx, profile: p}
	if c == LocalCaller {
		id.caller = LocalCaller // a constant: boxed without an allocation
	} else {
		id.caller = c
	}
	return id
}

// identityCtx is WithIdentity's context.
type identityCtx struct {
	context.Context
	profile *Profile
	caller  any // the Caller, boxed once
}

// Value answers WithProfile's and WithCaller's keys, and asks the parent
// for any other.
func (c *identityCtx) Value(key any) any {
	switch key {
	case ctxKey{}:
		return c.profile
	case callerKey{}:
		return c.caller
	}
	return c.Context.Value(key)
}
