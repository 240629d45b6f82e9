import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { isJsonContentType } from '@modelcontextprotocol/server';
import { Actor } from '../auth/actor';
import { authenticate } from '../auth/auth.guard';
import { hasScope } from '../auth/permissions';
import { TokenVerifier } from '../auth/token-verifier';
import {
  DomainError,
  InsufficientScopeError,
  MalformedJsonError,
  PayloadTooLargeError,
} from '../common/errors';
import { JsonRpcId, jsonRpcError, jsonRpcIdOf } from '../common/mcp-http';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { OAuthUpstream } from '../oauth/upstream';
import { BODY_LIMIT_BYTES, readBody } from '../platform/limits';
import { requestId } from '../platform/logging';
import { nameRequestSpan } from '../platform/tracing';
import { Metrics } from '../platform/metrics';
import { bearerChallenge } from '../platform/problem.filter';
import { routeAhead } from '../platform/route-ahead';
import { hostRefusal } from './host-check.middleware';
import { McpEndpoint } from './mcp.endpoint';
import { McpToolRegistry } from './mcp-tool.registry';

const PATH = '/mcp';

/** An answer decided before the MCP layer runs: HTTP status, JSON-RPC error, extra headers. */
class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * `POST /mcp`, served straight from node:http rather than through Nest's router, like
 * `POST /v1/decide` (README "Benchmark"): agents call tools in quick succession, and Nest's
 * router, guard, body parser, exception filter and per-request logging cost more than a small
 * tool call itself. It keeps every step of the pipeline that /mcp went through, in the same
 * order and with the same answers: request id (X-Request-Id), metrics under route `/mcp`, the
 * Host/Origin check (DNS-rebinding protection), 503 while the authorization server's metadata
 * is unknown, bearer authentication with the same verifier as every route (401 with the
 * protected-resource challenge), JSON only (415), the 100 kB body limit (413), malformed JSON
 * as a JSON-RPC parse error, the scope step-up (403 insufficient_scope), a request log line.
 * GET and DELETE /mcp stay on Nest's router (McpController).
 */
@Injectable()
export class McpHttpHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger('McpHttp');
  private verifier!: TokenVerifier;
  private upstream!: OAuthUpstream;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly moduleRef: ModuleRef,
    private readonly metrics: Metrics,
    private readonly endpoint: McpEndpoint,
    private readonly registry: McpToolRegistry,
  ) {}

  /** Routes POST /mcp on the app's HTTP server here (none in an application context). */
  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return;
    // The authentication and OAuth services belong to the application module.
    this.verifier = this.moduleRef.get(TokenVerifier, { strict: false });
    this.upstream = this.moduleRef.get(OAuthUpstream, { strict: false });
    routeAhead(
      server,
      (req) => req.method === 'POST' && isMcpEndpoint(req.url),
      (req, res) => this.handle(req, res),
    );
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const id = requestId(req, res);
    nameRequestSpan(req, PATH);
    const started = performance.now();
    const end = this.metrics.httpDuration.startTimer({ method: 'POST', route: PATH });
    res.once('finish', () => {
      end();
      const status = String(res.statusCode);
      this.metrics.httpRequests.inc({ method: 'POST', route: PATH, status });
      this.logger.log(
        {
          // As the /v1 request log line has it (see loggerParams): which agent client called.
          req: {
            id,
            method: 'POST',
            url: PATH,
            headers: { 'user-agent': req.headers['user-agent'] },
          },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        'request completed',
      );
    });
    const rpc: { id: JsonRpcId } = { id: null };
    this.run(req, res, id, rpc).catch((error: unknown) => this.fail(req, res, id, error, rpc.id));
  }

  /** Serves the request; `rpc.id` is set once the body is read, for a failure's answer. */
  private async run(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    rpc: { id: JsonRpcId },
  ): Promise<void> {
    this.checkHost(req);
    if (!this.upstream.current()) {
      throw new Refusal(503, -32000, this.upstream.unavailableReason(), { 'retry-after': '5' });
    }
    const actor = await authenticate(this.verifier, req.headers.authorization, 'mcp');
    if (!isJsonContentType(req.headers['content-type'])) {
      throw new Refusal(
        415,
        -32000,
        'Unsupported Content-Type: send the JSON-RPC message as application/json.',
      );
    }
    const body = await readJson(req);
    rpc.id = jsonRpcIdOf(body);
    this.requireToolScope(actor, body);
    await this.endpoint.serve(req, res, body, { actor, requestId: id });
  }

  /** DNS-rebinding protection: Host, and Origin when sent, must name this server. */
  private checkHost(req: IncomingMessage): void {
    const refusal = hostRefusal(this.config, req.headers);
    if (refusal !== undefined) throw new Refusal(403, -32000, refusal);
  }

  /**
   * Step-up (MCP authorization, "scope challenge"): a tools/call of a tool whose scope the token
   * lacks answers 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`,
   * so a client can ask the user for the scope and retry. Batches are left to the dispatcher,
   * which refuses the call itself the same way, as a tool error.
   */
  private requireToolScope(actor: Actor, body: unknown): void {
    const message = body as { method?: unknown; params?: { name?: unknown } } | null;
    if (message?.method !== 'tools/call' || typeof message.params?.name !== 'string') return;
    const tool = this.registry.get(message.params.name);
    if (tool && !hasScope(actor.scopes, tool.options.scope)) {
      throw new InsufficientScopeError(tool.options.scope);
    }
  }

  /**
   * Answers a failure as JSON-RPC with its HTTP status (MCP clients read JSON-RPC, not problem
   * documents); the message names the request id, as every /mcp error answer does.
   */
  private fail(
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    error: unknown,
    rpcId: JsonRpcId,
  ): void {
    let refusal: Refusal;
    if (error instanceof Refusal) {
      refusal = error;
    } else if (error instanceof DomainError) {
      const challenge = bearerChallenge(error, this.config.baseUrl, PATH);
      refusal = new Refusal(
        error.status,
        -32000,
        error.message,
        challenge ? { 'www-authenticate': challenge } : {},
      );
    } else {
      this.logger.error({ err: error, requestId: id }, 'Unhandled error in POST /mcp');
      refusal = new Refusal(
        500,
        -32603,
        'Something went wrong on our side. Retry later; if it persists, report the request id to your Bulwark operator.',
      );
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    // A body left unread (refused before reading it) is drained, so the connection stays usable.
    if (!req.readableEnded) req.resume();
    const body = JSON.stringify(
      jsonRpcError(refusal.code, `${refusal.message} (request id ${id})`, rpcId),
    );
    res.writeHead(refusal.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      ...refusal.headers,
    });
    res.end(body);
  }
}

/** `/mcp` itself, with or without a trailing slash or query (not `/mcp/token` and the like). */
function isMcpEndpoint(url: string | undefined): boolean {
  const path = url?.split('?', 1)[0];
  return path === PATH || path === `${PATH}/`;
}

/** Reads and parses the JSON body, at most BODY_LIMIT_BYTES. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req, BODY_LIMIT_BYTES);
  if (body === 'too_large') {
    throw new Refusal(413, -32000, new PayloadTooLargeError().message);
  }
  if (body === 'aborted') {
    throw new Refusal(400, -32700, 'The request body could not be read.');
  }
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new Refusal(400, -32700, new MalformedJsonError().message);
  }
}
