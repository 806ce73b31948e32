package permissions

import (
	"context"
	"slices"
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

// ScopeNames gives a profile's scopes as strings: a loaded profile's made
// once (no allocation per call), and a changed or hand-built profile's as
// its Scopes are now.
func TestScopeNames(t *testing.T) {
	pol, err := Parse([]byte(specExample))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(pol.Profiles(), Default().DefaultProfile()) {
		t.Run(p.Name, func(t *testing.T) {
			want := make([]string, len(p.Scopes))
			for i, s := range p.Scopes {
				want[i] = string(s)
			}
			if got := p.ScopeNames(); !slices.Equal(got, want) {
				t.Fatalf("ScopeNames = %v, want %v", got, want)
			}
			if n := testing.AllocsPerRun(50, func() { _ = p.ScopeNames() }); n != 0 {
				t.Errorf("ScopeNames allocates %v times, want 0", n)
			}
			// A copy with other scopes, as the server makes for a browser
			// page: its own names.
			q := *p
			q.Scopes = []Scope{ScopeMonitor}
			if got := q.ScopeNames(); !slices.Equal(got, []string{"monitor"}) {
				t.Errorf("ScopeNames of a changed copy = %v, want [monitor]", got)
			}
			q = *p
			q.Scopes = slices.Clone(p.Scopes)
			q.Scopes[0] = ScopeAdmin
			if got := q.ScopeNames(); got[0] != string(ScopeAdmin) {
				t.Errorf("ScopeNames after a scope changed in place = %v, want admin first", got)
			}
		})
	}
	if got := (&Profile{Scopes: []Scope{ScopeRead}}).ScopeNames(); !slices.Equal(got, []string{"read"}) {
		t.Errorf("ScopeNames of a profile built in code = %v", got)
	}
	if got := (*Profile)(nil).ScopeNames(); got != nil {
		t.Errorf("ScopeNames of nil = %v", got)
	}
}
