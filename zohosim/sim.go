package zohosim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Surface names one of the emulator's listeners: the unit of fault injection
// and of the request log.
type Surface string

// The surfaces the emulator serves, each on its own listener.
const (
	SurfaceOAuth Surface = "oauth" // the accounts server: /oauth/v2/token
	SurfaceREST  Surface = "rest"  // the REST tier's API domain
	SurfaceBulk  Surface = "bulk"  // the BULK tier's API domain (same API, own listener)
	SurfaceMCP   Surface = "mcp"   // the hosted-MCP look-alike

	// SurfaceDownload is the Bulk Write result host (Zoho's
	// download-accl.zoho.<tld>): a separate origin that serves the
	// absolute result.download_url of a completed bulk write job.
	SurfaceDownload Surface = "download"
	// SurfaceMCPAuth is the authorization server of the hosted-MCP
	// look-alike in on-demand mode (Zoho's mcp.zoho.<tld>/baas/mcp/v1/oauth/…),
	// a separate origin from the MCP server; it runs only when
	// Options.MCPAuth is MCPAuthOnDemand.
	SurfaceMCPAuth Surface = "mcp_auth"
)

// surfaceAdmin is the admin listener; it takes no faults and is not logged.
const surfaceAdmin Surface = "admin"

// Surfaces lists, in a stable order, the surfaces that every tier's calls
// cross: the accounts server and the three tiers' endpoints. SurfaceDownload
// and SurfaceMCPAuth take faults too (SetFault, the admin API) but are not
// listed, so that code which expands Surfaces into one case per tier keeps
// its shape; ExtraSurfaces lists them.
var Surfaces = []Surface{SurfaceOAuth, SurfaceREST, SurfaceBulk, SurfaceMCP}

// ExtraSurfaces lists the fault-injectable surfaces that are not in Surfaces.
var ExtraSurfaces = []Surface{SurfaceDownload, SurfaceMCPAuth}

// MCPVariant picks the upstream tool names and argument names the hosted-MCP
// look-alike shows, so the tier-1 client can be tested against the variants
// real Zoho MCP servers show. The zero value is the default tool set.
type MCPVariant struct {
	// ToolNames renames tools: default name (e.g. "ZohoCRM_getRecords") →
	// name offered; nil keeps the default names.
	ToolNames map[string]string
	// ArgNames renames argument keys: default key (e.g. "module") → key
	// expected (e.g. "moduleApiName"); nil keeps the default keys.
	ArgNames map[string]string
	// Omit lists default tool names the server does not offer; nil offers all.
	Omit []string
}

// Options configures Start. The zero value of every field picks its default.
type Options struct {
	// Accounts is the number of seeded accounts; 0 means 500.
	Accounts int
	// ModuleRecords sets the seeded records of other modules by API name
	// (ModuleContacts, ModuleDeals, …); a module left out gets its default,
	// proportional to Accounts (Contacts 2×, Deals, Tasks and Notes 1×,
	// Leads and Projects ½×, each at most 10,000), and 0 seeds none.
	ModuleRecords map[string]int
	// Seed makes the seeded data deterministic; 0 means 1.
	Seed uint64
	// Now is the clock for token expiry, bulk job progress, credit and
	// refresh windows; nil means time.Now.
	Now func() time.Time
	// Credits is the rolling 24-hour credit budget; 0 means 1,000,000.
	Credits int
	// Edition is the org's CRM edition, which sets the concurrency limit
	// (reference §9.3): Free 5, Standard 10, Professional 15, Enterprise 20,
	// Ultimate 25; "" means EditionEnterprise.
	Edition Edition
	// Concurrency overrides the edition's limit of API calls in flight at
	// once for the org (every surface that spends its API calls: REST, BULK
	// and the MCP look-alike's calls); 0 means the edition's. The
	// sub-concurrency of 10 for COQL, writes of more than 10 records and bulk
	// job creation is fixed.
	Concurrency int
	// ServeTime is how long Zoho takes to serve each API call, spent while
	// the call holds its concurrency slot (a latency fault, by contrast,
	// delays a request before it reaches the API); 0 means no time.
	ServeTime time.Duration
	// MCPKey is the key in /mcp/{key}/message; "" means 32 random hex digits.
	MCPKey string
	// MCPAuth is how the MCP look-alike authenticates callers: "" or
	// MCPAuthConnection (the key in the URL is enough, as "Authorization via
	// Connection"), or MCPAuthOnDemand (OAuth 2.1 as the MCP authorization
	// spec and Zoho's "Authorization on Demand": the key URL and a bearer
	// token from the look-alike's own authorization server).
	MCPAuth MCPAuth
	// MCPKeepRefreshToken makes the on-demand authorization server answer a
	// refresh without a new refresh token, the old one staying valid; false,
	// the default, rotates: every refresh answers a new refresh token and the
	// one used stops working. SetMCPRefreshRotation changes it at run time.
	MCPKeepRefreshToken bool
	// DownloadHost is the host name the bulk write download_url names for
	// the download listener (e.g. "download-accl.zoho.test", which a test maps
	// to the listener with its own dialer); "" means 127.0.0.1. The URL
	// carries the listener's port either way.
	DownloadHost string
	// DownloadTokenOptional lets the download listener serve bulk write
	// results without an Authorization header, as the emulator did before
	// the download host was split off; false, the default, requires
	// "Authorization: Zoho-oauthtoken <valid token>" as Zoho does (§8.4).
	DownloadTokenOptional bool
	// MCPVariant is the tool set and argument naming of the MCP look-alike.
	MCPVariant MCPVariant
	// JobStep is the time a bulk job spends in each state; 0 means 1s.
	JobStep time.Duration
	// RequestLog is how many requests the request log keeps (Requests,
	// GET /admin/requests), the oldest dropped first; 0 means 100,000. Each
	// costs a few hundred bytes plus up to 64 KiB of its body, so a
	// long-running emulator that nobody inspects wants a small one. The
	// counters (RequestCount, RecordWrites, RefreshCount) do not depend on it.
	RequestLog int
}

// Credential is an OAuth client and its refresh token; tokens refreshed with
// it carry APIDomain as api_domain.
type Credential struct{ ClientID, ClientSecret, RefreshToken, APIDomain string }

// Sim is a running emulator. Its methods are safe for concurrent use.
type Sim struct {
	opts   Options
	store  *Store            // Accounts
	stores map[string]*Store // every module with a records API, by API name
	counts map[string]int    // seeded records per module
	orgID  string            // org id and zgid (the same in the emulator)

	clockMu sync.Mutex
	offset  time.Duration // added to opts.Now by Advance

	lns map[Surface]*listener

	closing   chan struct{}
	closeOnce sync.Once
	closeMu   sync.Mutex
	closed    bool           // no new requests once set (guards handlers.Add)
	handlers  sync.WaitGroup // in-flight requests on every listener

	// mcpHandler serves /mcp/{key}/message (after the key check).
	mcpHandler http.Handler
	// mcpAuth is the on-demand authorization server; nil in connection mode.
	mcpAuth *mcpAuthServer
	// bulk is the Bulk Read/Write service (its write results are served by
	// the download listener).
	bulk *bulkService
	// api serves the CRM API for the rest and bulk listeners and for
	// in-process calls of the MCP look-alike.
	api http.Handler
	// bulkRoutes is set once the bulk routes are mounted on the API mux.
	bulkRoutes bool

	faultMu sync.Mutex
	faults  map[Surface]*faultState

	oauth      *oauthServer
	pageTokens *pageTokenCodec
	limits     *limits
	reqlog     *requestLog
	restCrd    Credential
	bulkCrd    Credential
}

// Start seeds a store and starts every surface on its own 127.0.0.1 listener
// with a random port. Close stops them.
func Start(opts Options) (*Sim, error) {
	if opts.Accounts == 0 {
		opts.Accounts = 500
	}
	if opts.Accounts < 0 || opts.Accounts > maxModuleRecords {
		return nil, fmt.Errorf("zohosim: Accounts must be between 0 and %d", maxModuleRecords)
	}
	counts := defaultCounts(opts.Accounts)
	for name, n := range opts.ModuleRecords {
		m, ok := registry[name]
		if !ok || !m.hasRecords() || name == ModuleAccounts {
			return nil, fmt.Errorf("zohosim: ModuleRecords names %q, which is not a module beside Accounts with records (use the API name, e.g. %s)", name, ModuleContacts)
		}
		if n < 0 || n > maxModuleRecords {
			return nil, fmt.Errorf("zohosim: ModuleRecords[%q] must be between 0 and %d", name, maxModuleRecords)
		}
		counts[name] = n
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Credits == 0 {
		opts.Credits = 1_000_000
	}
	limit, ok := editionConcurrency[opts.Edition]
	if !ok {
		return nil, fmt.Errorf("zohosim: unknown Edition %q; use one of %v", opts.Edition, Editions)
	}
	if opts.Concurrency < 0 {
		return nil, errors.New("zohosim: Concurrency must not be negative")
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = limit
	}
	switch opts.MCPAuth {
	case "", MCPAuthConnection, MCPAuthOnDemand:
	default:
		return nil, fmt.Errorf("zohosim: unknown MCPAuth %q; use %q or %q", opts.MCPAuth, MCPAuthConnection, MCPAuthOnDemand)
	}
	if strings.ContainsAny(opts.DownloadHost, ":/ ") {
		return nil, fmt.Errorf("zohosim: DownloadHost %q must be a bare host name (the port is the listener's)", opts.DownloadHost)
	}
	if opts.MCPKey == "" {
		opts.MCPKey = randomHex(16)
	}
	if opts.JobStep == 0 {
		opts.JobStep = time.Second
	}
	if opts.RequestLog < 0 {
		return nil, errors.New("zohosim: RequestLog must not be negative")
	}
	if opts.RequestLog == 0 {
		opts.RequestLog = maxLogEntries
	}
	s := &Sim{
		opts:    opts,
		orgID:   fmt.Sprintf("%d", 700_000_000+opts.Seed%100_000_000),
		lns:     map[Surface]*listener{},
		closing: make(chan struct{}),
		faults:  map[Surface]*faultState{},
		reqlog:  newRequestLog(opts.RequestLog),
	}
	s.pageTokens = newPageTokenCodec()
	s.counts = counts
	s.stores = newStores(opts.Seed, counts, s.now)
	s.store = s.stores[ModuleAccounts]
	s.limits = newLimits(opts.Credits, opts.Concurrency, subConcurrency, s.now)
	s.oauth = newOAuthServer(s.now, s.orgID)
	s.mcpHandler = newMCPHandlerOrStub(s)
	s.api = s.newAPIHandler()

	handlers := map[Surface]http.Handler{
		SurfaceOAuth:    s.surfaceHandler(SurfaceOAuth, s.oauthMux()),
		SurfaceREST:     s.surfaceHandler(SurfaceREST, s.api),
		SurfaceBulk:     s.surfaceHandler(SurfaceBulk, s.api),
		SurfaceMCP:      s.surfaceHandler(SurfaceMCP, s.mcpMux()),
		SurfaceDownload: s.surfaceHandler(SurfaceDownload, s.downloadMux()),
		surfaceAdmin:    s.adminHandler(),
	}
	order := append(slices.Clone(Surfaces), SurfaceDownload)
	if opts.MCPAuth == MCPAuthOnDemand {
		s.mcpAuth = newMCPAuthServer(s)
		handlers[SurfaceMCPAuth] = s.surfaceHandler(SurfaceMCPAuth, s.mcpAuth.mux())
		order = append(order, SurfaceMCPAuth)
	}
	// Every listener is in s.lns before the first one serves: handlers read
	// the map (the MCP surface names its authorization server's URL), and
	// the go statement in up is what orders these writes before their reads.
	order = append(order, surfaceAdmin)
	for _, sf := range order {
		s.lns[sf] = &listener{surface: sf, addr: "127.0.0.1:0", handler: handlers[sf]}
	}
	for _, sf := range order {
		if err := s.lns[sf].up(); err != nil {
			s.Close()
			return nil, fmt.Errorf("zohosim: listen for %s: %w", sf, err)
		}
	}
	s.restCrd = s.oauth.addClient(s.RESTURL(), defaultScopes)
	s.bulkCrd = s.oauth.addClient(s.BulkURL(), defaultScopes)
	return s, nil
}

// Close stops every listener, ends hung requests and waits for every handler
// to return. It is safe to call more than once.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		close(s.closing)
		for _, l := range s.lns {
			l.down()
		}
		s.handlers.Wait()
	})
	return nil
}

// now is the emulator's clock: Options.Now plus whatever Advance added.
func (s *Sim) now() time.Time {
	s.clockMu.Lock()
	d := s.offset
	s.clockMu.Unlock()
	return s.opts.Now().Add(d)
}

// Advance moves the emulator's clock forward by d (on top of Options.Now), so
// a sandbox user can expire tokens or finish bulk jobs without waiting.
func (s *Sim) Advance(d time.Duration) {
	s.clockMu.Lock()
	s.offset += d
	s.clockMu.Unlock()
}

func (s *Sim) baseURL(sf Surface) string {
	if s == nil || s.lns[sf] == nil {
		return ""
	}
	return "http://" + s.lns[sf].address()
}

// AccountsURL is the OAuth server's base URL; the token endpoint is
// AccountsURL()+"/oauth/v2/token".
func (s *Sim) AccountsURL() string { return s.baseURL(SurfaceOAuth) }

// RESTURL is the API domain the REST credential's tokens name.
func (s *Sim) RESTURL() string { return s.baseURL(SurfaceREST) }

// BulkURL is the API domain the bulk credential's tokens name; it serves the
// same API as RESTURL on its own listener (and the bulk-write upload path).
func (s *Sim) BulkURL() string { return s.baseURL(SurfaceBulk) }

// MCPEndpoint is the hosted-MCP look-alike's full URL including the key.
func (s *Sim) MCPEndpoint() string {
	return s.baseURL(SurfaceMCP) + s.mcpPath()
}

// mcpPath is the path of the MCP endpoint, key included.
func (s *Sim) mcpPath() string { return "/mcp/" + s.opts.MCPKey + "/message" }

// DownloadURL is the base URL of the bulk write download listener, with
// Options.DownloadHost as its host name when set.
func (s *Sim) DownloadURL() string {
	l := s.lns[SurfaceDownload]
	if l == nil {
		return ""
	}
	addr := l.address()
	if h := s.opts.DownloadHost; h != "" {
		_, port, _ := net.SplitHostPort(addr)
		addr = net.JoinHostPort(h, port)
	}
	return "http://" + addr
}

// DownloadAddr is the download listener's 127.0.0.1 address, for a test
// dialer that maps Options.DownloadHost to it.
func (s *Sim) DownloadAddr() string {
	if l := s.lns[SurfaceDownload]; l != nil {
		return l.address()
	}
	return ""
}

// AdminURL is the base URL of the admin HTTP API (faults, log, clock).
func (s *Sim) AdminURL() string { return s.baseURL(surfaceAdmin) }

// RESTCredential is the OAuth client whose tokens' api_domain is RESTURL.
func (s *Sim) RESTCredential() Credential { return s.restCrd }

// BulkCredential is the OAuth client whose tokens' api_domain is BulkURL.
func (s *Sim) BulkCredential() Credential { return s.bulkCrd }

// Store is the emulator's Accounts store; tests may read and change it directly.
func (s *Sim) Store() *Store { return s.store }

// Records returns the record store of the module with the given API name
// (ModuleAccounts, ModuleContacts, …), nil for a module without records.
func (s *Sim) Records(module string) *Store { return s.stores[module] }

// OrgID is the org's zgid (what X-CRM-ORG and ZOHO_ORG_ID carry).
func (s *Sim) OrgID() string { return s.orgID }

// Env returns the KEY=value lines (SPEC §3 names) that point a proxy at the
// emulator: every tier's credentials, the accounts server, the MCP endpoint,
// the upload host and the org id.
func (s *Sim) Env() []string {
	r, b := s.restCrd, s.bulkCrd
	return []string{
		"ZOHO_MCP_ENDPOINT=" + s.MCPEndpoint(),
		"ZOHO_ACCOUNTS_URL=" + s.AccountsURL(),
		"ZOHO_CLIENT_ID=" + r.ClientID,
		"ZOHO_CLIENT_SECRET=" + r.ClientSecret,
		"ZOHO_REFRESH_TOKEN=" + r.RefreshToken,
		"ZOHO_BULK_CLIENT_ID=" + b.ClientID,
		"ZOHO_BULK_CLIENT_SECRET=" + b.ClientSecret,
		"ZOHO_BULK_REFRESH_TOKEN=" + b.RefreshToken,
		"ZOHO_REST_CLIENT_ID=" + r.ClientID,
		"ZOHO_REST_CLIENT_SECRET=" + r.ClientSecret,
		"ZOHO_REST_REFRESH_TOKEN=" + r.RefreshToken,
		"ZOHO_CONTENT_URL=" + s.BulkURL(),
		"ZOHO_ORG_ID=" + s.orgID,
	}
}

// mcpMux serves /mcp/{key}/message, refusing a wrong key with 401; in
// on-demand mode it also serves the OAuth discovery documents and refuses
// requests without a valid bearer token.
func (s *Sim) mcpMux() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.mcpAuth != nil && strings.HasPrefix(r.URL.Path, "/.well-known/") {
			s.mcpAuth.serveMCPWellKnown(w, r)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/mcp/")
		key, tail, _ := strings.Cut(rest, "/")
		if !ok || tail != "message" {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "not found: the MCP endpoint is /mcp/{key}/message"})
			return
		}
		if !equalSecret(key, s.opts.MCPKey) {
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "unauthorized: invalid MCP endpoint key"})
			return
		}
		if s.mcpAuth != nil && !s.mcpAuth.authorizeMCP(w, r) {
			return
		}
		s.mcpHandler.ServeHTTP(w, r)
	})
}

// listener is one surface's TCP listener. Taking it down closes the socket
// (clients get connection refused); bringing it up listens on the same port.
type listener struct {
	surface Surface
	handler http.Handler

	mu   sync.Mutex
	addr string // "127.0.0.1:0" until the first listen, then the fixed address
	srv  *http.Server
	done chan struct{}
}

func (l *listener) address() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// up listens on l.addr and serves; it is a no-op while already up.
func (l *listener) up() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv != nil {
		return nil
	}
	var ln net.Listener
	var err error
	// The port was ours a moment ago; rebinding can race with the kernel
	// releasing it, so try a few times before giving up.
	for range 50 {
		ln, err = net.Listen("tcp", l.addr)
		if err == nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	l.addr = ln.Addr().String()
	srv := &http.Server{
		Handler:           l.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	l.srv, l.done = srv, done
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return nil
}

// down closes the listener and every open connection, and waits for the
// serve loop to end. Handlers still running see their context cancelled.
func (l *listener) down() {
	l.mu.Lock()
	srv, done := l.srv, l.done
	l.srv, l.done = nil, nil
	l.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	<-done
}

// ctxKey keys the request context values the emulator sets.
type ctxKey int

const (
	keySurface ctxKey = iota
	keyFault
	keyEntry
)

// surfaceOf returns the surface a request came in on (SurfaceREST if unknown).
func surfaceOf(ctx context.Context) Surface {
	if sf, ok := ctx.Value(keySurface).(Surface); ok {
		return sf
	}
	return SurfaceREST
}

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
