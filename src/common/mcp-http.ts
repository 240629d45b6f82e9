/** Whether a request path belongs to the MCP endpoint (`/mcp` and anything below it). */
export function isMcpPath(path: string): boolean {
  return path === '/mcp' || path.startsWith('/mcp/');
}

/**
 * A JSON-RPC error answer outside any request, as MCP clients expect on /mcp whatever the HTTP
 * status; `id` is null because the request's id cannot be known.
 */
export function jsonRpcError(code: number, message: string) {
  return { jsonrpc: '2.0' as const, id: null, error: { code, message } };
}
