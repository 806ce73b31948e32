package tools_test

import (
	"testing"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools"
	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tools/resultstoretest"
)

// TestFileResultsContract: the one-process store keeps the contract of every
// ResultStore (the Redis-backed store of replicas runs the same tests in
// package app).
func TestFileResultsContract(t *testing.T) {
	t.Parallel()
	resultstoretest.Run(t, func(t *testing.T, cfg resultstoretest.Config) tools.ResultStore {
		s, err := tools.NewFileResults(tools.FileResultsConfig{Dir: t.TempDir(), Now: cfg.Now, TTL: cfg.TTL,
			MaxBytes: cfg.MaxBytes, OwnerResults: cfg.OwnerResults})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
