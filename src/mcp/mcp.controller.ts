import { Controller, Delete, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { jsonRpcError } from '../common/mcp-http';

/**
 * `/mcp`, Streamable HTTP, stateless. POST, which carries every MCP message, is served by
 * McpHttpHandler straight from node:http; GET and DELETE come here, behind the same middleware
 * and authentication guard as `/v1`.
 */
@ApiExcludeController()
@Controller('mcp')
export class McpController {
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
