import { Inject, Injectable, NestMiddleware } from '@nestjs/common';
import { validateHostHeader, validateOriginHeader } from '@modelcontextprotocol/server';
import type { NextFunction, Request, Response } from 'express';
import { jsonRpcError } from '../common/mcp-http';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

/**
 * Why a request must be refused as not addressed to this server, or undefined when it is.
 * DNS-rebinding protection: a page on another site must not reach a Bulwark on the user's
 * machine or network through the browser. `Host`, and `Origin` when a browser sends one, must
 * name this server's host (port-agnostic).
 */
export function hostRefusal(
  config: AppConfig,
  headers: { host?: string; origin?: string },
): string | undefined {
  const allowed = config.allowedHosts;
  const host = validateHostHeader(headers.host, allowed);
  const origin = host.ok ? validateOriginHeader(headers.origin, allowed) : host;
  if (origin.ok) return undefined;
  return `${origin.message}. This MCP endpoint answers only requests addressed to ${allowed.join(', ')}: connect through ${config.baseUrl}/mcp. Operators: set BASE_URL to the public origin, or add the host name to ALLOWED_HOSTS.`;
}

/** The Host/Origin check of GET and DELETE /mcp (POST: McpHttpHandler), before authentication. */
@Injectable()
export class HostCheckMiddleware implements NestMiddleware {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const refusal = hostRefusal(this.config, req.headers);
    if (refusal === undefined) {
      next();
      return;
    }
    res.status(403).json(jsonRpcError(-32000, refusal));
  }
}
