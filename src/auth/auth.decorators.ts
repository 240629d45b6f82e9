import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Request } from 'express';
import { Actor } from './actor';

export const IS_PUBLIC = 'auth:public';

/**
 * Opts a route out of bearer-token authentication. Use only for endpoints that must answer
 * anonymous callers (health, metrics, discovery) or authenticate by other means (site keys).
 *
 * @example
 * @Public()
 * @Get('health')
 * health() { ... }
 */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export interface AuthenticatedRequest extends Request {
  actor?: Actor;
}

/**
 * The verified caller of the current request, as built by AuthGuard.
 *
 * @example
 * @Get()
 * list(@CurrentActor() actor: Actor) { return this.teams.listMine(actor); }
 */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const actor = ctx.switchToHttp().getRequest<AuthenticatedRequest>().actor;
  if (!actor) throw new Error('CurrentActor used on a @Public() route');
  return actor;
});
