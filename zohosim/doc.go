// Package zohosim is a local Zoho CRM emulator: OAuth, Records v8, search,
// COQL, Bulk Read/Write and a hosted-MCP look-alike, with credit and
// concurrency limits, fault injection and a request log. It follows the Zoho
// reference, not the proxy's client code, and imports none of the proxy's
// packages, so that a misreading of Zoho on one side cannot hide in both.
package zohosim
