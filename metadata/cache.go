// Package metadata keeps the org's module metadata (its modules, each
// module's fields and related lists) read through the router like every
// other call, for a TTL, one fetch at a time per key, refreshed early when
// Zoho says a field does not exist; and it checks an agent's arguments
// against it before anything is sent to Zoho (check.go).
package metadata

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers"
)

// Defaults of Config.
const (
	DefaultTTL        = 10 * time.Minute
	DefaultMinRefresh = 30 * time.Second
)

// Fetch reads one kind of metadata from Zoho; the app passes the router's
// Metadata (so it is routed, failed over and counted like any call).
type Fetch func(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error)

// Config configures a Cache.
type Config struct {
	// Fetch reads metadata. Required.
	Fetch Fetch
	// TTL is how long an answer is used before it is read again. Zero
	// means DefaultTTL.
	TTL time.Duration
	// MinRefresh is the least time between two early refreshes of the same
	// answer (Refresh), so that a caller sending unknown names cannot make
	// the proxy read Zoho's metadata on every call. Zero means
	// DefaultMinRefresh.
	MinRefresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Cache holds the org's metadata. It is safe for concurrent use. The
// values it returns are shared: callers must not change them.
type Cache struct {
	cfg Config
	sf  singleflight.Group

	mu      sync.Mutex
	entries map[string]*entry
}

// entry is one cached answer.
type entry struct {
	md      tiers.Metadata
	fetched time.Time
	stale   bool // Refresh marked it: read it again on next use
}

// New returns a cache over cfg.Fetch.
func New(cfg Config) *Cache {
	if cfg.TTL <= 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = DefaultMinRefresh
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Cache{cfg: cfg, entries: map[string]*entry{}}
}

// key is the cache key of req.
func key(req tiers.MetadataRequest) string { return string(req.Kind) + "\x00" + req.Module }

// get returns the answer to req: cached while fresh, else read once however
// many callers ask at the same time. The read is not canceled when one of
// them gives up (the others still wait for it); each caller stops waiting
// when its own context ends. Failures are not cached.
func (c *Cache) get(ctx context.Context, req tiers.MetadataRequest) (tiers.Metadata, error) {
	k := key(req)
	c.mu.Lock()
	if e, ok := c.entries[k]; ok && !e.stale && c.cfg.Now().Sub(e.fetched) < c.cfg.TTL {
		c.mu.Unlock()
		return e.md, nil
	}
	c.mu.Unlock()
	shared := context.WithoutCancel(ctx)
	ch := c.sf.DoChan(k, func() (any, error) {
		md, err := c.cfg.Fetch(shared, req)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.entries[k] = &entry{md: md, fetched: c.cfg.Now()}
		c.mu.Unlock()
		return md, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return tiers.Metadata{}, r.Err
		}
		return r.Val.(tiers.Metadata), nil
	case <-ctx.Done():
		return tiers.Metadata{}, ctx.Err()
	}
}

// refresh marks the answer to req stale unless it was read less than
// MinRefresh ago; it reports whether it did (or there was none).
func (c *Cache) refresh(req tiers.MetadataRequest) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key(req)]
	if !ok {
		return true
	}
	if e.stale {
		return true
	}
	if c.cfg.Now().Sub(e.fetched) < c.cfg.MinRefresh {
		return false
	}
	e.stale = true
	return true
}

// UnknownModuleError is the answer for a module the org does not have (or
// that the records API does not serve). Modules lists the ones it has.
type UnknownModuleError struct {
	Name    string
	Modules []string
}

// Error names the module and the modules there are.
func (e *UnknownModuleError) Error() string {
	return fmt.Sprintf("module %q is not a module of this Zoho org; the modules are %s (describe_module lists them)",
		e.Name, strings.Join(e.Modules, ", "))
}

// Modules returns the org's modules that the records API serves, in Zoho's
// order.
func (c *Cache) Modules(ctx context.Context) ([]tiers.ModuleMeta, error) {
	md, err := c.get(ctx, tiers.MetadataRequest{Kind: tiers.MetaModules})
	if err != nil {
		return nil, err
	}
	out := make([]tiers.ModuleMeta, 0, len(md.Modules))
	for _, m := range md.Modules {
		if m.APISupported {
			out = append(out, m)
		}
	}
	return out, nil
}

// Lookup returns the module whose API name is name, compared without case
// (the agent may write "contacts"); an unknown name reads the modules list
// again first (once per MinRefresh: the org may have a new custom module)
// and is then an *UnknownModuleError.
func (c *Cache) Lookup(ctx context.Context, name string) (tiers.ModuleMeta, error) {
	for range 2 {
		ms, err := c.Modules(ctx)
		if err != nil {
			return tiers.ModuleMeta{}, err
		}
		if i := slices.IndexFunc(ms, func(m tiers.ModuleMeta) bool { return strings.EqualFold(m.APIName, name) }); i >= 0 {
			return ms[i], nil
		}
		if !c.refresh(tiers.MetadataRequest{Kind: tiers.MetaModules}) {
			break
		}
	}
	ms, _ := c.Modules(ctx)
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.APIName
	}
	return tiers.ModuleMeta{}, &UnknownModuleError{Name: name, Modules: names}
}

// Module returns the metadata of the module called name (see Lookup): its
// fields and, when Zoho lets the proxy read them, its related lists.
func (c *Cache) Module(ctx context.Context, name string) (*Module, error) {
	mm, err := c.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	fd, err := c.get(ctx, tiers.MetadataRequest{Kind: tiers.MetaFields, Module: mm.APIName})
	if err != nil {
		return nil, fmt.Errorf("reading the fields of module %s: %w", mm.APIName, err)
	}
	m := newModule(mm, fd.Fields)
	rd, err := c.get(ctx, tiers.MetadataRequest{Kind: tiers.MetaRelatedLists, Module: mm.APIName})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		m.RelatedErr = err
	} else {
		m.Related = rd.RelatedLists
	}
	return m, nil
}

// Refresh asks for module's fields to be read again on next use, because
// Zoho said a field the metadata has (or lacks) does not exist. It does so at
// most once per MinRefresh and reports whether it did.
func (c *Cache) Refresh(module string) bool {
	return c.refresh(tiers.MetadataRequest{Kind: tiers.MetaFields, Module: module})
}

// IsFieldVerdict reports whether err is Zoho's verdict that a field does not
// exist (INVALID_DATA naming an api_name, with Zoho's "invalid field"
// wording), after which the module's metadata is worth reading again.
func IsFieldVerdict(err error) (field string, ok bool) {
	var te *tiers.Error
	if !errors.As(err, &te) || te.Class != tiers.ClassVerdict || te.Code != "INVALID_DATA" {
		return "", false
	}
	api, _ := te.Details["api_name"].(string)
	msg := strings.ToLower(te.Message)
	if api == "" || !(strings.Contains(msg, "field") || strings.Contains(msg, "api name")) {
		return "", false
	}
	return api, true
}

// Module is one module's metadata: the module, its fields in Zoho's order
// and its related lists. It is shared: do not change it.
type Module struct {
	tiers.ModuleMeta
	Fields []tiers.FieldMeta
	// Related are the module's related lists; nil when they could not be
	// read (RelatedErr says why: e.g. the token lacks the scope).
	Related    []tiers.RelatedListMeta
	RelatedErr error

	byName map[string]int // API name → index in Fields
}

func newModule(mm tiers.ModuleMeta, fields []tiers.FieldMeta) *Module {
	m := &Module{ModuleMeta: mm, Fields: fields, byName: make(map[string]int, len(fields))}
	for i, f := range fields {
		m.byName[f.APIName] = i
	}
	return m
}

// Field returns the field called name (exactly; Zoho's API names are
// case-sensitive).
func (m *Module) Field(name string) (tiers.FieldMeta, bool) {
	i, ok := m.byName[name]
	if !ok {
		return tiers.FieldMeta{}, false
	}
	return m.Fields[i], true
}

// RelatedList returns the related list called name (exactly), and whether
// the related lists are known at all.
func (m *Module) RelatedList(name string) (rl tiers.RelatedListMeta, found, known bool) {
	if m.Related == nil {
		return tiers.RelatedListMeta{}, false, false
	}
	for _, r := range m.Related {
		if r.APIName == name {
			return r, true, true
		}
	}
	return tiers.RelatedListMeta{}, false, true
}

// Unique returns the API names of the module's unique fields.
func (m *Module) Unique() []string {
	var out []string
	for _, f := range m.Fields {
		if f.Unique {
			out = append(out, f.APIName)
		}
	}
	return out
}
