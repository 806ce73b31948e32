// Package permissions maps MCP callers to profiles: which scopes of tools they
// may use and which Zoho fields they may never see or touch (SPEC §6).
package permissions

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"slices"
	"strings"
)

// Scope is a permission a profile grants. A tool declares the scopes it needs
// and a caller may use it only when the caller's profile has all of them.
type Scope string

// The scopes of SPEC §6.
const (
	// ScopeRead allows reading accounts: get_account, get_accounts, search_accounts.
	ScopeRead Scope = "read"
	// ScopeWrite allows changing accounts: update_account.
	ScopeWrite Scope = "write"
	// ScopeBulk allows multi-record operations; bulk_* tools also need read or write.
	ScopeBulk Scope = "bulk"
	// ScopeMonitor allows reading tier health and request metrics.
	ScopeMonitor Scope = "monitor"
	// ScopeAdmin allows operator actions such as resetting circuit breakers.
	ScopeAdmin Scope = "admin"
)

// AllScopes returns every scope in a stable order.
func AllScopes() []Scope {
	return []Scope{ScopeRead, ScopeWrite, ScopeBulk, ScopeMonitor, ScopeAdmin}
}

// ParseScope returns the Scope named s; ok is false for an unknown name.
// Names are case-sensitive.
func ParseScope(s string) (Scope, bool) {
	for _, sc := range AllScopes() {
		if string(sc) == s {
			return sc, true
		}
	}
	return "", false
}

// Profile is what a caller may do. A nil *Profile may do nothing.
type Profile struct {
	// Name identifies the profile in logs and in the permissions file.
	Name string
	// Scopes granted to the profile. Empty means no tool is usable.
	Scopes []Scope
	// DenyFields are Zoho field API names (case-sensitive) that are removed
	// from every result and refused in data, fields, filters and where, in
	// every module. Empty means no field is denied.
	DenyFields []string
	// Modules are the module API names the profile may touch (compared
	// without case). Nil means every module; a tool bound to a module the
	// list leaves out (the Account tools need Accounts) is hidden and
	// refused, and so is a call of a generic tool naming one.
	Modules []string
	// DenyIn maps a module API name to field API names denied in that
	// module only, besides DenyFields. Nil means none.
	DenyIn map[string][]string

	// names is Scopes as strings, made when the profile is loaded: see
	// ScopeNames.
	names []string
}

// AllowsModule reports whether p may touch module (compared without case).
// A nil profile may touch none; a profile without a module list, every one.
func (p *Profile) AllowsModule(module string) bool {
	if p == nil {
		return false
	}
	if p.Modules == nil {
		return true
	}
	return slices.ContainsFunc(p.Modules, func(m string) bool { return strings.EqualFold(m, module) })
}

// DeniedIn reports whether field is denied in module: in DenyFields, or in
// DenyIn's list for module. Names compare without case, failing closed like
// Denied.
func (p *Profile) DeniedIn(module, field string) bool {
	if p.Denied(field) {
		return true
	}
	return slices.ContainsFunc(p.denyIn(module), func(d string) bool { return strings.EqualFold(d, field) })
}

// DeniedFields returns every field denied in module: DenyFields and
// DenyIn's list for module (a new slice; nil when none is).
func (p *Profile) DeniedFields(module string) []string {
	if p == nil {
		return nil
	}
	in := p.denyIn(module)
	if len(p.DenyFields) == 0 && len(in) == 0 {
		return nil
	}
	return append(slices.Clone(p.DenyFields), in...)
}

func (p *Profile) denyIn(module string) []string {
	if p == nil {
		return nil
	}
	for m, fs := range p.DenyIn {
		if strings.EqualFold(m, module) {
			return fs
		}
	}
	return nil
}

// Allows reports whether p has every one of scopes. A nil profile allows
// nothing; no scopes at all is allowed for any non-nil profile.
func (p *Profile) Allows(scopes ...Scope) bool {
	if p == nil {
		return false
	}
	for _, s := range scopes {
		if !slices.Contains(p.Scopes, s) {
			return false
		}
	}
	return true
}

// Denied reports whether field (a Zoho API name) is in p's deny list. Names
// are compared case-insensitively: whether Zoho itself treats API names
// case-insensitively is not confirmed, and a deny list must fail closed, so
// "annual_revenue" is refused like "Annual_Revenue". A nil profile denies
// nothing; callers refuse a nil profile through Allows before they get here.
func (p *Profile) Denied(field string) bool {
	if p == nil {
		return false
	}
	return slices.ContainsFunc(p.DenyFields, func(d string) bool { return strings.EqualFold(d, field) })
}

// ScopeNames returns p's scopes as strings, for the X-MCP-Tools header and
// router.RoutingContext.Tools. A nil profile has none. A loaded profile's
// (Load, Parse, Default) are made once and shared by every call: the
// caller must not change them. A profile whose Scopes changed since, or
// one built in code, gets a new slice.
func (p *Profile) ScopeNames() []string {
	if p == nil {
		return nil
	}
	if len(p.Scopes) > 0 && namesOf(p.names, p.Scopes) {
		return p.names
	}
	return scopeNames(p.Scopes)
}

// scopeNames returns sc as strings.
func scopeNames(sc []Scope) []string {
	out := make([]string, len(sc))
	for i, s := range sc {
		out[i] = string(s)
	}
	return out
}

// namesOf reports whether names are sc as strings.
func namesOf(names []string, sc []Scope) bool {
	if len(names) != len(sc) {
		return false
	}
	for i, s := range sc {
		if names[i] != string(s) {
			return false
		}
	}
	return true
}

// tokenEntry binds the sha256 of a bearer token to a profile.
type tokenEntry struct {
	sum     [sha256.Size]byte
	profile *Profile
}

// Policy is a parsed permissions file: profiles, the default profile and the
// bearer tokens of HTTP callers. A Policy is immutable and safe for
// concurrent use. The zero Policy has no profiles and no tokens.
type Policy struct {
	defaultName string
	profiles    map[string]*Profile
	order       []string // profile names in file order
	tokens      []tokenEntry
	source      string
}

// DefaultProfileName is the name of the single profile of Default.
const DefaultProfileName = "default"

// Default returns the policy used when no permissions file is given: every
// caller gets read, write, bulk and monitor, no admin, and no field is denied.
// It has no tokens, so the HTTP transport must stay on loopback.
func Default() *Policy {
	p := &Profile{Name: DefaultProfileName, Scopes: []Scope{ScopeRead, ScopeWrite, ScopeBulk, ScopeMonitor}}
	p.names = scopeNames(p.Scopes)
	return &Policy{
		defaultName: p.Name,
		profiles:    map[string]*Profile{p.Name: p},
		order:       []string{p.Name},
	}
}

// Source returns the path the policy was loaded from, or "" for Default and
// for policies made by Parse.
func (p *Policy) Source() string { return p.source }

// Profile returns the profile called name (case-sensitive).
func (p *Policy) Profile(name string) (*Profile, bool) {
	pr, ok := p.profiles[name]
	return pr, ok
}

// DefaultProfile returns the profile named by default_profile: what stdio
// callers get when --profile is not given. It is never nil for a policy made
// by Load, Parse or Default.
func (p *Policy) DefaultProfile() *Profile { return p.profiles[p.defaultName] }

// Profiles returns every profile in file order.
func (p *Policy) Profiles() []*Profile {
	out := make([]*Profile, 0, len(p.order))
	for _, n := range p.order {
		out = append(out, p.profiles[n])
	}
	return out
}

// HasTokens reports whether the policy lists any bearer token. Without
// tokens the HTTP transport must stay on loopback (SPEC §7).
func (p *Policy) HasTokens() bool { return len(p.tokens) > 0 }

// ProfileForToken returns the profile of the bearer token. The token's sha256
// is compared with every listed hash in constant time, and the loop never
// stops early, so timing tells nothing about which hash nearly matched. An
// empty bearer never matches.
func (p *Policy) ProfileForToken(bearer string) (*Profile, bool) {
	if bearer == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(bearer))
	var found *Profile
	for i := range p.tokens {
		if subtle.ConstantTimeCompare(sum[:], p.tokens[i].sum[:]) == 1 && found == nil {
			found = p.tokens[i].profile
		}
	}
	return found, found != nil
}

type ctxKey struct{}

// WithProfile returns a context carrying the caller's profile.
func WithProfile(ctx context.Context, p *Profile) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// ProfileFrom returns the profile set by WithProfile, or nil when none was
// set (a nil profile may do nothing).
func ProfileFrom(ctx context.Context) *Profile {
	p, _ := ctx.Value(ctxKey{}).(*Profile)
	return p
}
