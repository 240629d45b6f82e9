import { Controller, Delete, Get, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { isJsonContentType } from '@modelcontextprotocol/server';
import type { Request, Response } from 'express';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { jsonRpcError } from '../common/mcp-http';
import { McpEndpoint } from './mcp.endpoint';
import { McpToolRegistry } from './mcp-tool.registry';
import { InsufficientScopeError } from '../common/errors';
import { hasScope } from '../auth/permissions';

/**
 * `/mcp`, Streamable HTTP, stateless. It sits behind the same middleware and authentication
 * guard as `/v1`; the tools it serves call the same services with the same actor.
 */
@ApiExcludeController()
@Controller('mcp')
export class McpController {
  constructor(
    private readonly endpoint: McpEndpoint,
    private readonly registry: McpToolRegistry,
  ) {}

  @Post()
  post(@CurrentActor() actor: Actor, @Req() req: Request, @Res() res: Response) {
    if (!isJsonContentType(req.headers['content-type'])) {
      res
        .status(415)
        .json(
          jsonRpcError(
            -32000,
            'Unsupported Content-Type: send the JSON-RPC message as application/json.',
          ),
        );
      return;
    }
    this.requireToolScope(actor, req.body);
    return this.endpoint.handle(req, res, actor);
  }

  /**
   * Step-up at the HTTP layer (MCP authorization, "scope challenge"): a tools/call of a tool
   * whose scope the token lacks answers 403 with `WWW-Authenticate: Bearer
   * error="insufficient_scope", scope="..."`, so a client can ask the user for the scope and
   * retry. The JSON-RPC error body names the scope too. Batches are left to the dispatcher,
   * which refuses the call itself the same way, as a tool error.
   */
  private requireToolScope(actor: Actor, body: unknown): void {
    const message = body as { method?: unknown; params?: { name?: unknown } } | undefined;
    if (message?.method !== 'tools/call' || typeof message.params?.name !== 'string') return;
    const tool = this.registry.get(message.params.name);
    if (tool && !hasScope(actor.scopes, tool.options.scope)) {
      throw new InsufficientScopeError(tool.options.scope);
    }
  }

  /**
   * A stateless server opens no server-to-client stream and keeps no session to end, so the
   * spec's answer to GET (SSE stream) and DELETE (session termination) is 405.
   */
  @Get()
  get(@Res() res: Response) {
    this.methodNotAllowed(res);
  }

  @Delete()
  delete(@Res() res: Response) {
    this.methodNotAllowed(res);
  }

  private methodNotAllowed(res: Response): void {
    res
      .status(405)
      .setHeader('Allow', 'POST')
      .json(
        jsonRpcError(
          -32000,
          'Method not allowed: this MCP server is stateless and answers POST only (no SSE stream, no sessions).',
        ),
      );
  }
}
