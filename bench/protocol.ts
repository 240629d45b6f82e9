import { randomBytes } from 'node:crypto';

/** Messages between the benchmark driver (run.ts) and a server child (server.ts). */

/** The servers under test, each in its own child process. */
export const SERVER_KINDS = ['app', 'bare-v1', 'ceiling', 'hello'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** Public origin the servers believe they have: tokens are minted for its resources. */
export const BASE_URL = 'http://127.0.0.1';
export const MCP_AUDIENCE = `${BASE_URL}/mcp`;
export const REST_AUDIENCE = `${BASE_URL}/v1`;

/** Sites each benchmark team gets, so that list-sites returns a page with a few items. */
export const SITE_COUNT = 5;

/** The fixed answer of the ceiling server. */
export const CEILING_BODY = JSON.stringify({ ok: true });

/** Parent to child: what the child needs to start. */
export interface StartMessage {
  type: 'start';
  /** OAuth issuer serving RFC 8414 metadata and a JWKS on loopback. */
  issuer: string;
  /** A REST-audience token, for children that seed their own data through the services. */
  restToken: string;
}

/** Parent to child: close everything and exit (a clean exit also writes a --cpu-prof profile). */
export interface StopMessage {
  type: 'stop';
}

/** Child to parent: listening on 127.0.0.1:port; teamId when the child seeded its own data. */
export interface ReadyMessage {
  type: 'ready';
  port: number;
  teamId?: string;
}

/** Child to parent: start-up failed. */
export interface FailedMessage {
  type: 'failed';
  error: string;
}

export type ToChild = StartMessage | StopMessage;
export type FromChild = ReadyMessage | FailedMessage;

/**
 * The environment every Bulwark instance of the benchmark is configured with: embedded PGlite
 * in memory, or PostgreSQL when BENCH_DATABASE_URL is set.
 */
export function benchEnv(issuer: string): NodeJS.ProcessEnv {
  const databaseUrl = process.env.BENCH_DATABASE_URL;
  return {
    ...(databaseUrl
      ? { DATABASE_URL: databaseUrl, ENCRYPTION_KEY: randomBytes(32).toString('base64') }
      : {}),
    PORT: '0',
    BASE_URL,
    DATA_DIR: 'memory://',
    OAUTH_ISSUER: issuer,
    // The bare-v1 server is an application context without HTTP, which never fetches the
    // issuer's metadata; both servers read the keys from here.
    OAUTH_JWKS_URL: `${issuer}/jwks`,
    LOG_LEVEL: 'silent',
    ALLOWED_HOSTS: '127.0.0.1',
  };
}
