package permissions

import (
	"context"
	"testing"
)

type otherKey struct{}

// WithIdentity carries what WithProfile and WithCaller carry, and passes
// every other key to its parent.
func TestWithIdentity(t *testing.T) {
	p := &Profile{Name: "sales"}
	parent := context.WithValue(context.Background(), otherKey{}, "kept")
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		profile *Profile
		caller  Caller
	}{
		{"local caller", WithIdentity(parent, p, LocalCaller), p, LocalCaller},
		{"token caller", WithIdentity(parent, p, TokenCaller("secret")), p, TokenCaller("secret")},
		{"no profile, no caller", WithIdentity(parent, nil, ""), nil, ""},
		{"replaces the parent's", WithIdentity(WithCaller(WithProfile(parent, &Profile{Name: "old"}), "old"), p, "new"), p, "new"},
		{"overridden by a later WithCaller", WithCaller(WithIdentity(parent, p, "first"), "second"), p, "second"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ProfileFrom(tc.ctx); got != tc.profile {
				t.Errorf("ProfileFrom = %v, want %v", got, tc.profile)
			}
			if got := CallerFrom(tc.ctx); got != tc.caller {
				t.Errorf("CallerFrom = %q, want %q", got, tc.caller)
			}
			if got := tc.ctx.Value(otherKey{}); got != "kept" {
				t.Errorf("the parent's value = %v, want kept", got)
			}
		})
	}
}

// WithIdentity is one allocation for the local caller, and looking the
// values up allocates nothing.
func TestWithIdentityAllocations(t *testing.T) {
	p := &Profile{Name: "sales"}
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { _ = WithIdentity(ctx, p, LocalCaller) }); n > 1 {
		t.Errorf("WithIdentity allocates %v times, want 1", n)
	}
	id := WithIdentity(ctx, p, TokenCaller("secret"))
	if n := testing.AllocsPerRun(100, func() { _, _ = ProfileFrom(id), CallerFrom(id) }); n != 0 {
		t.Errorf("ProfileFrom and CallerFrom allocate %v times, want 0", n)
	}
}
