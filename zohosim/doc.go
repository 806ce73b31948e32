// Package zohosim is a local Zoho CRM emulator: OAuth, Records v8, search,
// COQL, Bulk Read/Write and a hosted-MCP look-alike, with credit and
// concurrency limits, fault injection and a request log. It follows the Zoho
// reference, not the proxy's client code, and imports none of the proxy's
// packages, so that a misreading of Zoho on one side cannot hide in both.
//
// The org has the modules Accounts, Contacts, Leads, Deals, Tasks, Notes and
// the custom module Projects (ModuleAccounts … ModuleProjects; Modules and
// LookupModule give their metadata), each with seeded records (Options.Accounts
// and Options.ModuleRecords; Sim.Records gives a module's store). Contacts,
// Deals and Projects link to accounts, Tasks through What_Id and $se_module,
// Notes through Parent_Id. Every module is served by:
//
//	GET  /crm/v8/settings/modules[/{api_name}]      module metadata
//	GET  /crm/v8/settings/fields?module=X           field metadata
//	GET  /crm/v8/settings/related_lists?module=X    related lists
//	GET  /crm/v8/{module}[/{id}], PUT, POST         list, get, update, insert
//	POST /crm/v8/{module}/upsert, GET …/search      upsert, search
//	GET  /crm/v8/{module}/{id}/{related list}       related records
//	POST /crm/v8/coql, /crm/bulk/v8/read|write      COQL, Bulk Read (not Notes), Bulk Write
//
// with field validation driven by the module's metadata.
//
// Start runs one 127.0.0.1 listener per surface (Surface): the accounts
// server (AccountsURL), two API domains serving the same API (RESTURL and
// BulkURL, the api_domain of RESTCredential's and BulkCredential's tokens),
// the MCP look-alike (MCPEndpoint), the bulk write download host
// (DownloadURL: bulk write results are absolute URLs there and need the
// OAuth token), in on-demand mode the MCP look-alike's own authorization
// server (MCPIssuer), and an admin API (AdminURL). A test typically does:
//
//	sim, err := zohosim.Start(zohosim.Options{Now: clock.Now})
//	defer sim.Close()
//	cred := sim.RESTCredential() // refresh it at sim.AccountsURL()+"/oauth/v2/token"
//	sim.SetFault(zohosim.SurfaceREST, zohosim.Fault{Mode: zohosim.Fault5xx, Times: 1})
//	… drive the client …
//	sim.Requests(); sim.RecordWrites(id); sim.RefreshCount()
//
// Faults are per surface: FaultDown closes the listener (connection refused)
// and clearing it listens again on the same port; the others shape answers
// (5xx, 429, latency, hang, hang_after_apply, malformed, expired_tokens,
// refresh_cap). The admin API does the same over HTTP:
//
//	POST   /admin/faults         {"surface":"rest","mode":"5xx","latency_ms":0,"times":1}
//	DELETE /admin/faults         clear every fault
//	GET    /admin/requests       the request log (DELETE resets it and the counters)
//	GET    /admin/stats          requests per surface, refreshes, credits
//	POST   /admin/expire-tokens  invalidate every access token
//	POST   /admin/clock          {"advance_ms":3600000}
//	POST   /admin/concurrency/reset, /admin/mcp-tool-error, /admin/mcp-oauth/… (see adminHandler)
//
// Options.MCPAuth = MCPAuthOnDemand makes the MCP look-alike an OAuth 2.1
// resource server as Zoho's "Authorization on Demand" and the MCP
// authorization spec describe (metadata discovery, dynamic registration,
// PKCE, refresh, 401 challenges; see mcpauth.go). Options.Edition sets the
// org's concurrency limit, counted over every surface that spends the org's
// API calls; Concurrency reports the peak a client reached.
//
// Behaviour the reference leaves open is decided once and documented where
// it is implemented (e.g. 204 for an unknown record id, page tokens bound to
// sort_by/sort_order/ids and valid for 24 hours).
package zohosim
