// Drives zoho-mcp-proxy with the official TypeScript SDK client, which (unlike
// the Go clients) validates structuredContent against each tool's
// outputSchema. Prints one JSON object with what it saw; the Go test in e2e/
// asserts on it.
//
//   node tsclient.mjs stdio <binary> [args...]
//   node tsclient.mjs http  <url>
//   node tsclient.mjs sse   <url>
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const [mode, target, ...rest] = process.argv.slice(2);
const headers = process.env.MCP_BEARER ? { Authorization: `Bearer ${process.env.MCP_BEARER}` } : {};
const transport =
  mode === "stdio"
    ? new StdioClientTransport({ command: target, args: rest, stderr: "ignore", env: { ...process.env } })
    : mode === "http"
      ? new StreamableHTTPClientTransport(new URL(target), { requestInit: { headers } })
      : new SSEClientTransport(new URL(target), { requestInit: { headers }, eventSourceInit: { headers } });

let negotiated;
const orig = transport.setProtocolVersion?.bind(transport);
transport.setProtocolVersion = (v) => {
  negotiated = v;
  orig?.(v);
};

const out = { mode, calls: {} };
const client = new Client({ name: "ts-sdk-e2e", version: "0.0.1" });
await client.connect(transport);
out.protocolVersion = negotiated;
const { tools } = await client.listTools();
out.tools = tools.map((t) => t.name).sort();
out.annotations = Object.fromEntries(tools.map((t) => [t.name, t.annotations ?? null]));

// A string argument "${label.path.to.value}" is replaced by that value of
// an earlier call's structuredContent (e.g. "${create.results.0.id}"), so a
// call list can create a record and then read it back.
const ref = /^\$\{(\w+)\.([\w.]+)\}$/;
const resolve = (v) => {
  if (typeof v === "string") {
    const m = v.match(ref);
    if (!m) return v;
    let x = out.calls[m[1]]?.structured;
    for (const k of m[2].split(".")) x = x?.[k];
    if (x === undefined) throw new Error(`unresolved reference ${v}`);
    return x;
  }
  if (Array.isArray(v)) return v.map(resolve);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolve(x)]));
  return v;
};

// Each call's structuredContent is checked by the SDK against the cached
// outputSchema; a mismatch throws and is reported as an error here.
const calls = JSON.parse(process.env.TS_CALLS ?? "[]");
for (const c of calls) {
  try {
    const r = await client.callTool({ name: c.name, arguments: resolve(c.arguments ?? {}) });
    out.calls[c.label ?? c.name] = {
      isError: r.isError === true,
      text: (r.content ?? []).filter((x) => x.type === "text").map((x) => x.text).join("\n"),
      structured: r.structuredContent ?? null,
      route: r._meta?.["zoho-mcp-proxy/route"] ?? null,
      contentTypes: (r.content ?? []).map((x) => x.type),
    };
  } catch (e) {
    out.calls[c.label ?? c.name] = { thrown: String(e?.message ?? e) };
  }
}
await client.close();
console.log(JSON.stringify(out));
