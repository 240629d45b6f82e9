import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { IS_PUBLIC } from '../auth/auth.decorators';
import { ValidationError } from '../common/errors';

/**
 * A REST route that declares no query schema takes no query parameters, and refuses any with a
 * 400 naming each one: ignored silently, `GET .../briefing?days=3` would answer as if the caller
 * had been heard. Routes with a query schema refuse unknown parameters themselves (their schemas
 * are strict, and ZodPipe lists the accepted names). Runs after the guards, so a caller without
 * a valid token gets the 401 first. Public routes (health, discovery, OAuth) and /mcp keep
 * their own rules.
 */
@Injectable()
export class NoUnknownQueryParameters implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<Request>();
    const names = Object.keys(req.query ?? {});
    if (
      names.length === 0 ||
      !req.path.toLowerCase().startsWith('/v1/') ||
      this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
        context.getHandler(),
        context.getClass(),
      ]) ||
      takesQuery(context)
    ) {
      return next.handle();
    }
    const route = `${req.method} ${(req.route as { path?: string } | undefined)?.path ?? req.path}`;
    throw new ValidationError(
      names.map((name) => ({
        field: name,
        message: `is not a query parameter of ${route}, which takes none; remove it`,
      })),
    );
  }
}

/** Whether the route handler has a @Query() parameter (validated by its strict schema). */
function takesQuery(context: ExecutionContext): boolean {
  const args = (Reflect.getMetadata(
    ROUTE_ARGS_METADATA,
    context.getClass(),
    context.getHandler().name,
  ) ?? {}) as Record<string, unknown>;
  return Object.keys(args).some((key) => key.split(':')[0] === String(RouteParamtypes.QUERY));
}
