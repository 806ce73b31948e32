// Package faults proves, from outside the proxy, that an agent keeps working
// while Zoho's surfaces fail: a fault matrix (surface × fault × tool family)
// driven through a real MCP client against the real server wired to the
// emulator, write safety with the emulator's request log as the witness, and
// security probes (permission bypasses, HTTP attacks, secret scraping).
package faults

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
