/** Whether a request path belongs to the MCP endpoint (`/mcp` and anything below it). */
export function isMcpPath(path: string): boolean {
  return path === '/mcp' || path.startsWith('/mcp/');
}

/** A JSON-RPC request id; null when the request's id is unknown (JSON-RPC 2.0, section 5). */
export type JsonRpcId = string | number | null;

/**
 * A JSON-RPC error answer outside any request, as MCP clients expect on /mcp whatever the HTTP
 * status; `id` is the request's when it was read, so that a client can match the answer.
 */
export function jsonRpcError(code: number, message: string, id: JsonRpcId = null) {
  return { jsonrpc: '2.0' as const, id, error: { code, message } };
}

/** The id of a single JSON-RPC request; null for a batch, a notification or anything else. */
export function jsonRpcIdOf(body: unknown): JsonRpcId {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const id = (body as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}
