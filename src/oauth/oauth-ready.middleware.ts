import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { jsonRpcError } from '../common/mcp-http';
import { OAuthUpstream } from './upstream';

/**
 * /mcp answers 503 with the reason while the authorization server's metadata is unknown: a
 * client could neither sign in (discovery would fail) nor have its token checked.
 */
@Injectable()
export class OAuthReadyMiddleware implements NestMiddleware {
  constructor(private readonly upstream: OAuthUpstream) {}

  use(_req: Request, res: Response, next: NextFunction): void {
    if (this.upstream.current()) return next();
    res
      .status(503)
      .setHeader('retry-after', '5')
      .json(jsonRpcError(-32000, this.upstream.unavailableReason()));
  }
}
