import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import {
  AuthInfo,
  createMcpHandler,
  isLegacyRequest,
  McpHandlerRequestOptions,
  McpHttpHandler,
  Server,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpFastPath } from './mcp.fast-path';
import { CallContext, McpToolDispatcher } from './mcp-tool.dispatcher';
import { McpToolRegistry } from './mcp-tool.registry';

export const SERVER_INFO = { name: 'bulwark', title: 'Bulwark', version: '0.1.0' };

/** Sent to clients at initialisation: the concepts and the usual tool sequences. */
export const INSTRUCTIONS = readFileSync(join(__dirname, 'instructions.md'), 'utf8');

/**
 * The MCP endpoint, stateless: every POST is answered on its own, so any instance of the app can
 * answer any request and nothing is kept between requests.
 *
 * Both protocol eras are served on one URL. The two messages agents repeat all day, tools/call
 * and tools/list in their canonical shape, are answered by McpFastPath with the same bytes the
 * SDK would produce. Everything else goes to the SDK, with a fresh protocol instance whose
 * handlers serve the tool list built at start-up: requests carrying the 2026-07-28 per-request
 * envelope to its `createMcpHandler`; 2025-era requests (initialize handshake, no envelope),
 * classified by the SDK's own `isLegacyRequest`, to its Streamable HTTP transport in stateless
 * mode with JSON responses, instead of the SDK's default legacy fallback, which answers with a
 * one-event SSE stream.
 */
@Injectable()
export class McpEndpoint implements OnModuleDestroy {
  private readonly logger = new Logger('Mcp');
  private readonly modern: McpHttpHandler;
  private readonly fastPath: McpFastPath;

  constructor(
    private readonly registry: McpToolRegistry,
    private readonly dispatcher: McpToolDispatcher,
  ) {
    const onerror = (error: Error) => this.logger.debug(`MCP request rejected: ${error.message}`);
    this.modern = createMcpHandler(({ authInfo }) => this.createServer(authInfo), {
      legacy: 'reject',
      onerror,
    });
    this.fastPath = new McpFastPath(registry, dispatcher, SERVER_INFO);
  }

  /**
   * Serves one POST /mcp whose JSON body is already read and parsed, for an authenticated
   * caller, and writes the answer to `res`: through the fast path when it takes the message,
   * else through the SDK.
   */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    context: CallContext,
  ): Promise<void> {
    const direct = await this.fastPath.answer(req.headers, body, context);
    if (direct === undefined) return this.serveWithSdk(req, res, body, context);
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(direct),
    });
    res.end(direct);
  }

  /**
   * The SDK's answer to any message: what serve() falls back to, and the fast path's model. The
   * SDK's handlers take web-standard requests; the one handed to them carries the headers but no
   * body (the SDK is given the parsed one, so nothing is serialised again), and a JSON answer is
   * written in one piece.
   */
  async serveWithSdk(
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    context: CallContext,
  ): Promise<void> {
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    const authInfo: AuthInfo = {
      token: '',
      clientId: context.actor.clientId ?? '',
      scopes: [...context.actor.scopes],
      extra: { context },
    };
    const response = await this.route(toWebRequest(req, abort.signal), {
      authInfo,
      parsedBody: body,
    });
    await writeResponse(response, res, abort.signal);
  }

  async onModuleDestroy(): Promise<void> {
    await this.modern.close();
  }

  private async route(request: globalThis.Request, options?: McpHandlerRequestOptions) {
    if (await isLegacyRequest(request, options?.parsedBody)) {
      return this.legacy(request, options);
    }
    return this.modern.fetch(request, options);
  }

  private async legacy(request: globalThis.Request, options?: McpHandlerRequestOptions) {
    const server = this.createServer(options?.authInfo);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
    });
    await server.connect(transport);
    try {
      return await transport.handleRequest(request, options);
    } finally {
      void server.close();
    }
  }

  /**
   * One protocol instance per request, as stateless serving requires; it only wires two
   * handlers to the registry, whose tool list and schemas were built once at start-up.
   */
  private createServer(authInfo: AuthInfo | undefined): Server {
    const context = authInfo?.extra?.context as CallContext | undefined;
    if (!context) throw new Error('MCP request reached the server without an authenticated actor');
    const server = new Server(SERVER_INFO, {
      capabilities: { tools: { listChanged: false } },
      instructions: INSTRUCTIONS,
    });
    server.setRequestHandler('tools/list', () => ({
      tools: this.registry.visibleTo(context.actor),
    }));
    server.setRequestHandler('tools/call', async (request) => {
      const tool = this.registry.get(request.params.name);
      const result = await this.dispatcher.call(request.params, context);
      return server.projectCallToolResult(result, tool?.definition.outputSchema);
    });
    return server;
  }
}

/** Request headers the SDK never needs: credentials stay out of its reach. */
const WITHHELD = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** A body-less web-standard Request with the method, URL and headers of `req`. */
function toWebRequest(req: IncomingMessage, signal: AbortSignal): globalThis.Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || WITHHELD.has(name)) continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, value);
  }
  return new Request(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/mcp'}`, {
    method: req.method ?? 'POST',
    headers,
    signal,
  });
}

/** Writes a web-standard Response to `res`: JSON in one write, an SSE stream as it comes. */
async function writeResponse(
  response: globalThis.Response,
  res: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = {};
  for (const [name, value] of response.headers) headers[name] = value;
  if (response.body === null) {
    res.writeHead(response.status, headers).end();
    return;
  }
  if (!/^text\/event-stream/i.test(headers['content-type'] ?? '')) {
    const body = Buffer.from(await response.arrayBuffer());
    headers['content-length'] = String(body.length);
    res.writeHead(response.status, headers).end(body);
    return;
  }
  res.writeHead(response.status, headers);
  try {
    for await (const chunk of response.body) {
      if (signal.aborted) break;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          res.once('drain', resolve);
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
      }
    }
  } catch {
    // The client went away or the stream failed; nothing more can be sent.
  }
  res.end();
}
