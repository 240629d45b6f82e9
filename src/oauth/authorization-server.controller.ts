import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { BUILT_IN_ISSUER_PATH } from '../config/config';
import { OAuthAbuseLimits, OAuthLimit } from './abuse-limits';
import { AuthorizationServer } from './authorization-server';
import { refusedByLimit } from './oauth-http';
import { INTERNAL_HEADER, OAuthUpstream } from './upstream';

const DIRECT_LIMITS: Record<string, OAuthLimit> = {
  [`${BUILT_IN_ISSUER_PATH}/reg`]: 'registerPerIp',
  [`${BUILT_IN_ISSUER_PATH}/token`]: 'tokenPerIp',
};

/**
 * Hands every request under `/oauth` (other than the login and consent pages) to the built-in
 * authorization server, after the same request id, logging and metrics middleware as the API.
 */
@ApiExcludeController()
@Public()
@Controller(BUILT_IN_ISSUER_PATH.slice(1))
export class AuthorizationServerController {
  constructor(
    private readonly server: AuthorizationServer,
    private readonly upstream: OAuthUpstream,
    private readonly limits: OAuthAbuseLimits,
  ) {}

  @All('*path')
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    // The registration and token endpoints have the same per-IP limits here as at /mcp/register
    // and /mcp/token, except for the proxy's own calls, which were counted there.
    const limit = req.method === 'POST' ? DIRECT_LIMITS[req.path] : undefined;
    if (
      limit &&
      !this.upstream.isInternal(req.headers[INTERNAL_HEADER]) &&
      (await refusedByLimit(this.limits, limit, req, res))
    ) {
      return;
    }
    return this.server.handle(req, res);
  }
}
