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
import { toNodeHandler } from '@modelcontextprotocol/node';
import type { Request, Response } from 'express';
import { Actor } from '../auth/actor';
import { CallContext, McpToolDispatcher } from './mcp-tool.dispatcher';
import { McpToolRegistry } from './mcp-tool.registry';

export const SERVER_INFO = { name: 'bulwark', title: 'Bulwark', version: '0.1.0' };

/** Sent to clients at initialisation: the concepts and the usual tool sequences. */
export const INSTRUCTIONS = readFileSync(join(__dirname, 'instructions.md'), 'utf8');

type NodeHandler = ReturnType<typeof toNodeHandler>;

/**
 * The MCP endpoint, stateless: every POST is answered on its own by a fresh protocol instance
 * whose handlers serve the tool list built at start-up, so any instance of the app can answer
 * any request and nothing is kept between requests.
 *
 * Both protocol eras are served on one URL. Requests carrying the 2026-07-28 per-request
 * envelope go to the SDK's `createMcpHandler`; 2025-era requests (initialize handshake, no
 * envelope) are classified by the SDK's own `isLegacyRequest` and answered by its Streamable
 * HTTP transport in stateless mode with JSON responses, instead of the SDK's default legacy
 * fallback, which answers with a one-event SSE stream.
 */
@Injectable()
export class McpEndpoint implements OnModuleDestroy {
  private readonly logger = new Logger('Mcp');
  private readonly modern: McpHttpHandler;
  private readonly node: NodeHandler;

  constructor(
    private readonly registry: McpToolRegistry,
    private readonly dispatcher: McpToolDispatcher,
  ) {
    const onerror = (error: Error) => this.logger.debug(`MCP request rejected: ${error.message}`);
    this.modern = createMcpHandler(({ authInfo }) => this.createServer(authInfo), {
      legacy: 'reject',
      onerror,
    });
    this.node = toNodeHandler(
      { fetch: (request, options) => this.route(request, options) },
      { onerror: (error) => this.logger.error({ err: error }, 'MCP transport failure') },
    );
  }

  /** Serves one POST /mcp for an authenticated caller. */
  handle(req: Request & { id?: unknown; auth?: AuthInfo }, res: Response, actor: Actor) {
    const context: CallContext = {
      actor,
      requestId: typeof req.id === 'string' ? req.id : undefined,
    };
    req.auth = {
      token: '',
      clientId: actor.clientId ?? '',
      scopes: [...actor.scopes],
      extra: { context },
    };
    return this.node(req, res, req.body);
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
