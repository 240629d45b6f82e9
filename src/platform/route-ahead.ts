import type { IncomingMessage, Server, ServerResponse } from 'node:http';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Serves the requests `matches` picks with `handle`, ahead of every 'request' listener already
 * on `server` (Nest's express app): the hot routes (/v1/decide, POST /mcp) skip the router, and
 * everything else reaches the app exactly as before.
 */
export function routeAhead(
  server: Server,
  matches: (req: IncomingMessage) => boolean,
  handle: Listener,
): void {
  const app = server.listeners('request') as Listener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (matches(req)) return handle(req, res);
    for (const listener of app) listener.call(server, req, res);
  });
}

/**
 * A path as Express and oidc-provider's router match it: case-insensitively, with a trailing
 * slash ignored, so `/OAUTH/reg/` and `/oauth/reg` are one route. Code that picks a route by its
 * path compares this form, never one spelling of the path, or another spelling slips past it.
 */
export function routeKey(path: string): string {
  return path.toLowerCase().replace(/\/+$/, '');
}
