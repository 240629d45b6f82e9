import type { IncomingHttpHeaders } from 'node:http';
import {
  classifyInboundRequest,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SERVER_INFO_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import type { CallContext, McpToolDispatcher } from './mcp-tool.dispatcher';
import type { McpToolRegistry } from './mcp-tool.registry';

/** The one modern revision the fast path answers; any other goes to the SDK. */
const MODERN_REVISION = '2026-07-28';

type Json = Record<string, unknown>;

/**
 * The two messages agents send over and over, `tools/call` and `tools/list`, answered without
 * building a protocol instance, a transport and web-standard Request/Response objects for each
 * one (that costs about twenty times the tool call itself; README "Benchmark").
 *
 * It takes only requests whose answer is known to be exactly the SDK's: a single JSON-RPC
 * request in its canonical shape, as the SDK's own clients send it, on either era:
 *
 * - 2025 era: classified legacy by the SDK's own classifier (no envelope claim), an
 *   `MCP-Protocol-Version` the SDK serves (or none), `Accept` naming JSON and SSE, `params`
 *   holding only `name`, `arguments` and a `_meta` with at most a progress token;
 * - 2026-07-28: classified modern by the SDK's classifier, the standard headers all present and
 *   agreeing with the body, an envelope of exactly protocol version, client info and client
 *   capabilities.
 *
 * Everything else (initialize, ping, discovery, notifications, batches, unknown methods and
 * tools, any extra field, any header the ladder would look at twice) returns undefined and is
 * served by the SDK. The answers are checked against the SDK's own for the same requests
 * (test/e2e/mcp-fast-path.spec.ts).
 */
export class McpFastPath {
  constructor(
    private readonly registry: McpToolRegistry,
    private readonly dispatcher: McpToolDispatcher,
    private readonly serverInfo: Json,
  ) {}

  /** The JSON body of a 200 answer, or undefined when the SDK must answer. */
  async answer(
    headers: IncomingHttpHeaders,
    body: unknown,
    context: CallContext,
  ): Promise<string | undefined> {
    if (!isPlainObject(body) || !onlyKeys(body, REQUEST_KEYS) || body.jsonrpc !== '2.0') return;
    const { id, method } = body;
    if (typeof id !== 'string' && !Number.isSafeInteger(id)) return;
    if (method !== 'tools/call' && method !== 'tools/list') return;
    const accept = headers.accept;
    if (
      typeof accept !== 'string' ||
      !accept.includes('application/json') ||
      !accept.includes('text/event-stream')
    ) {
      return;
    }
    const params = body.params === undefined ? {} : body.params;
    if (!isPlainObject(params)) return;
    const version = single(headers['mcp-protocol-version']);
    const route = classifyInboundRequest({
      httpMethod: 'POST',
      protocolVersionHeader: version,
      mcpMethodHeader: single(headers['mcp-method']),
      mcpNameHeader: single(headers['mcp-name']),
      body,
    });
    let modern: boolean;
    if (route.kind === 'legacy' && route.reason === 'no-claim') {
      if (version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return;
      if (!this.legacyMeta(params._meta)) return;
      modern = false;
    } else if (
      route.kind === 'modern' &&
      route.messageKind === 'request' &&
      route.classification.revision === MODERN_REVISION
    ) {
      if (!this.modernHeaders(headers, method, params)) return;
      if (!this.modernMeta(params._meta)) return;
      modern = true;
    } else {
      return;
    }

    let result: Json;
    if (method === 'tools/list') {
      if (!onlyKeys(params, LIST_KEYS)) return;
      result = { tools: this.registry.visibleTo(context.actor) };
      if (modern) result = { ...result, resultType: 'complete', ttlMs: 0, cacheScope: 'private' };
    } else {
      if (!onlyKeys(params, CALL_KEYS) || typeof params.name !== 'string') return;
      if (params.arguments !== undefined && !isPlainObject(params.arguments)) return;
      // An unknown tool is a protocol error, which the SDK words.
      if (!this.registry.get(params.name)) return;
      const { content, structuredContent, isError, ...rest } = await this.dispatcher.call(
        { name: params.name, arguments: params.arguments },
        context,
      );
      // In the order the SDK's result schema puts them.
      result = { content };
      if (structuredContent !== undefined) result.structuredContent = structuredContent;
      if (isError !== undefined) result.isError = isError;
      Object.assign(result, rest);
      if (modern) result.resultType = 'complete';
    }
    if (modern) result._meta = { [SERVER_INFO_META_KEY]: this.serverInfo };
    return JSON.stringify({ result, jsonrpc: '2.0', id });
  }

  /** 2025 era: no `_meta`, or one carrying only a progress token (never used: no progress). */
  private legacyMeta(meta: unknown): boolean {
    if (meta === undefined) return true;
    if (!isPlainObject(meta) || !onlyKeys(meta, LEGACY_META_KEYS)) return false;
    const token = meta.progressToken;
    return token === undefined || typeof token === 'string' || Number.isSafeInteger(token);
  }

  /** 2026-07-28: the standard headers a client must send, agreeing with the body. */
  private modernHeaders(headers: IncomingHttpHeaders, method: string, params: Json): boolean {
    return (
      headers['mcp-protocol-version'] === MODERN_REVISION &&
      headers['mcp-method'] === method &&
      (method !== 'tools/call' || headers['mcp-name'] === params.name) &&
      (method === 'tools/call' || headers['mcp-name'] === undefined)
    );
  }

  /** 2026-07-28: an envelope of exactly the revision, client info and client capabilities. */
  private modernMeta(meta: unknown): boolean {
    if (!isPlainObject(meta) || !onlyKeys(meta, MODERN_META_KEYS)) return false;
    const info = meta[CLIENT_INFO_META_KEY];
    return (
      meta[PROTOCOL_VERSION_META_KEY] === MODERN_REVISION &&
      isPlainObject(info) &&
      onlyKeys(info, CLIENT_INFO_KEYS) &&
      typeof info.name === 'string' &&
      typeof info.version === 'string' &&
      (info.title === undefined || typeof info.title === 'string') &&
      isPlainObject(meta[CLIENT_CAPABILITIES_META_KEY])
    );
  }
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const CALL_KEYS = new Set(['name', 'arguments', '_meta']);
const LIST_KEYS = new Set(['_meta']);
const LEGACY_META_KEYS = new Set(['progressToken']);
const MODERN_META_KEYS = new Set([
  PROTOCOL_VERSION_META_KEY,
  CLIENT_INFO_META_KEY,
  CLIENT_CAPABILITIES_META_KEY,
]);
const CLIENT_INFO_KEYS = new Set(['name', 'version', 'title']);

function isPlainObject(value: unknown): value is Json {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

function onlyKeys(value: Json, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
