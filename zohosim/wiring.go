package zohosim

import "net/http"

// This file joins the parts of the emulator written separately: the bulk
// API (bulk.go) and the hosted-MCP look-alike (mcp.go).

// registerBulkRoutes mounts the Bulk Read/Write routes on the API mux.
func (s *Sim) registerBulkRoutes(mux *http.ServeMux) {
	_ = mux // bulk.go's registerBulk is mounted here once it lands
}

// newMCPHandlerOrStub returns the hosted-MCP look-alike's handler.
func newMCPHandlerOrStub(_ *Sim) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "the MCP look-alike is not built yet"})
	})
}
