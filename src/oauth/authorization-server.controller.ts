import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { BUILT_IN_ISSUER_PATH } from '../config/config';
import { OAuthAbuseLimits, OAuthLimit } from './abuse-limits';
import { AuthorizationServer, providerUrl } from './authorization-server';
import { MAX_REGISTRATION_BYTES, oauthError, refusedByLimit } from './oauth-http';
import { routeKey } from '../platform/route-ahead';
import { INTERNAL_HEADER, OAuthUpstream } from './upstream';

interface Endpoint {
  limit: OAuthLimit;
  /** Body size cap, enforced on the declared Content-Length. */
  maxBytes?: number;
}

/**
 * Hands every request under `/oauth` (other than the login and consent pages) to the built-in
 * authorization server, after the same request id, logging and metrics middleware as the API.
 */
@ApiExcludeController()
@Public()
@Controller(BUILT_IN_ISSUER_PATH.slice(1))
export class AuthorizationServerController {
  /**
   * POST endpoints with per-IP limits here, by route key (oidc-provider's router too ignores case
   * and a trailing slash). Every trailing slash is stripped although the router strips one:
   * counting a path that reaches no endpoint costs nothing, missing one that does lifts its limit.
   */
  private readonly endpoints: Map<string, Endpoint>;

  constructor(
    private readonly server: AuthorizationServer,
    private readonly upstream: OAuthUpstream,
    private readonly limits: OAuthAbuseLimits,
  ) {
    // The paths come from oidc-provider itself, so they follow its route configuration.
    const path = (name: string) => routeKey(server.provider.pathFor(name, { mountPath: '' }));
    this.endpoints = new Map([
      [path('registration'), { limit: 'registerPerIp', maxBytes: MAX_REGISTRATION_BYTES }],
      [path('token'), { limit: 'tokenPerIp' }],
    ]);
  }

  @All('*path')
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    const endpoint = req.method === 'POST' ? this.endpoint(req) : undefined;
    if (endpoint && (await this.refused(endpoint, req, res))) return;
    return this.server.handle(req, res);
  }

  /**
   * The limited endpoint a request will reach, found on the path oidc-provider will route it on
   * and by its router's rule, never by comparing `req.path` with one spelling: Express sends
   * `/OAUTH/reg` and `/oauth/reg/` here as well, and oidc-provider serves both as `/reg`.
   */
  private endpoint(req: Request): Endpoint | undefined {
    const path = providerUrl(req.originalUrl).split(/[?#]/, 1)[0];
    return this.endpoints.get(routeKey(path));
  }

  /**
   * The registration and token endpoints have the same per-IP limits here as at /mcp/register
   * and /mcp/token, except for the proxy's own calls, which were counted there; registrations
   * have the same 16 kB cap. Answers and returns true when the request is refused.
   */
  private async refused(endpoint: Endpoint, req: Request, res: Response): Promise<boolean> {
    if (
      !this.upstream.isInternal(req.headers[INTERNAL_HEADER]) &&
      (await refusedByLimit(this.limits, endpoint.limit, req, res))
    ) {
      return true;
    }
    if (endpoint.maxBytes === undefined) return false;
    // oidc-provider reads the body itself (and checks it against Content-Length), so the cap is
    // on the declared length; a body without one (chunked) could not be capped before it is read.
    // A request with neither header has no body (RFC 9112 §6.3).
    const declared = req.headers['content-length'];
    const kB = endpoint.maxBytes / 1024;
    if (declared === undefined && req.headers['transfer-encoding'] !== undefined) {
      req.resume();
      oauthError(
        res,
        411,
        'invalid_request',
        `Send the request with a Content-Length header (bodies of up to ${kB} kB; chunked bodies are not accepted here).`,
      );
      return true;
    }
    if (Number(declared) > endpoint.maxBytes) {
      req.resume();
      oauthError(res, 413, 'invalid_request', `The request body exceeds ${kB} kB.`);
      return true;
    }
    return false;
  }
}
