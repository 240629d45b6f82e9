import { Controller, Delete, Get, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { isJsonContentType } from '@modelcontextprotocol/server';
import type { Request, Response } from 'express';
import { Actor } from '../auth/actor';
import { CurrentActor } from '../auth/auth.decorators';
import { jsonRpcError } from '../common/mcp-http';
import { McpEndpoint } from './mcp.endpoint';

/**
 * `/mcp`, Streamable HTTP, stateless. It sits behind the same middleware and authentication
 * guard as `/v1`; the tools it serves call the same services with the same actor.
 */
@ApiExcludeController()
@Controller('mcp')
export class McpController {
  constructor(private readonly endpoint: McpEndpoint) {}

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
    return this.endpoint.handle(req, res, actor);
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
