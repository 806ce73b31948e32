package zohosim

import "net/http"

// This file joins the parts of the emulator written separately: the bulk
// API (bulk.go) and the hosted-MCP look-alike (mcp.go).

// registerBulkRoutes mounts the Bulk Read/Write routes on the API mux.
func (s *Sim) registerBulkRoutes(mux *http.ServeMux) { s.registerBulk(mux) }

// newMCPHandlerOrStub returns the hosted-MCP look-alike's handler.
func newMCPHandlerOrStub(s *Sim) http.Handler { return newMCPHandler(s) }
