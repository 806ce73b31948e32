package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	mcpclient "github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"

	"github.com/zoho-mcp-proxy/zoho-mcp-proxy/tiers/zoho"
)

// The MCP relay is compare's second yardstick: a general-purpose MCP proxy
// as such proxies are built on mcp-go (TBXark/mcp-proxy is one): one
// mcp-go client session to the upstream server, its tools listed once and
// registered on an mcp-go server whose handlers call the upstream's tool
// with the caller's name and arguments and hand back the result as mcp-go
// parsed it. It checks nothing and shapes nothing; what it costs beside the bare
// relay is mcp-go on both sides of a hop. Its upstream session speaks
// EraLegacy whatever its callers speak, and goes through the proxy's own
// upstream transport, as the bare relay does.

// mcpRelayHandler connects to the MCP server at endpoint and returns the
// passthrough server's handler and what closes the upstream session.
func mcpRelayHandler(ctx context.Context, endpoint string) (http.Handler, func() error, error) {
	tr, err := transport.NewStreamableHTTP(endpoint, transport.WithHTTPBasicClient(&http.Client{Transport: zoho.DefaultTransport()}))
	if err != nil {
		return nil, nil, err
	}
	up := mcpclient.NewClient(tr, mcpclient.WithProtocolVersion(EraLegacy))
	if err := up.Start(ctx); err != nil {
		return nil, nil, err
	}
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = EraLegacy
	init.Params.ClientInfo = mcp.Implementation{Name: "zmp-load mcp relay", Version: "1"}
	if _, err := up.Initialize(ctx, init); err != nil {
		return nil, nil, errors.Join(err, up.Close())
	}
	list, err := up.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return nil, nil, errors.Join(err, up.Close())
	}
	if len(list.Tools) == 0 {
		return nil, nil, errors.Join(fmt.Errorf("mcp relay: %s lists no tools", endpoint), up.Close())
	}
	s := mcpserver.NewMCPServer("zmp-load mcp relay", "1", mcpserver.WithToolCapabilities(false))
	for _, tool := range list.Tools {
		s.AddTool(tool, func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			// The name and arguments only: the caller's _meta may carry its
			// own protocol version, which the upstream session does not speak.
			var call mcp.CallToolRequest
			call.Params.Name, call.Params.Arguments = req.Params.Name, req.Params.Arguments
			return up.CallTool(ctx, call)
		})
	}
	return mcpserver.NewStreamableHTTPServer(s), up.Close, nil
}
