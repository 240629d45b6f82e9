import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { UnauthenticatedError } from '../common/errors';
import { isMcpPath } from '../common/mcp-http';
import { Actor } from './actor';
import { AuthenticatedRequest, IS_PUBLIC } from './auth.decorators';
import { TokenVerifier } from './token-verifier';

/**
 * Global guard: every route needs a valid bearer access token unless marked `@Public()`. It
 * establishes WHO is calling; what the caller may touch is decided by AccessService in the
 * services, at the resource boundary.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (
      this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
        context.getHandler(),
        context.getClass(),
      ])
    ) {
      return true;
    }
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    req.actor = await authenticate(
      this.verifier,
      req.headers.authorization,
      isMcpPath(req.path) ? 'mcp' : 'rest',
    );
    return true;
  }
}

/**
 * The caller of a request from its `Authorization` header: a bearer access token, verified.
 * Throws UnauthenticatedError (no token, a malformed header, a token that fails verification).
 */
export async function authenticate(
  verifier: TokenVerifier,
  header: string | undefined,
  via: Actor['via'],
): Promise<Actor> {
  if (!header) {
    throw new UnauthenticatedError(
      'This endpoint needs an OAuth access token: send it as "Authorization: Bearer <token>".',
      false,
    );
  }
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!match) {
    throw new UnauthenticatedError(
      'The Authorization header must have the form "Bearer <token>".',
      true,
    );
  }
  return verifier.verify(match[1], via);
}
