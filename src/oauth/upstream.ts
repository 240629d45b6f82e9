import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { AppConfig, BUILT_IN_ISSUER_PATH } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

/** RFC 8414 authorization server metadata, as far as Bulwark reads it. */
export interface UpstreamMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  registration_endpoint?: string;
  [field: string]: unknown;
}

export const INTERNAL_HEADER = 'x-bulwark-internal';
const REFRESH_MS = 10 * 60_000;
const MAX_RETRY_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;

/**
 * The authorization server behind Bulwark's OAuth endpoints: OAUTH_ISSUER in production, the
 * built-in server in embedded mode. Its metadata is fetched in the background once the HTTP
 * server listens (retrying with backoff, so start-up never waits on it), then refreshed every
 * ten minutes; a failed refresh keeps the last good copy.
 *
 * One code path for both modes: the built-in server is reached over HTTP like any provider, on
 * this process's own loopback address (BASE_URL may be a public name this host cannot reach).
 */
@Injectable()
export class OAuthUpstream implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('OAuthUpstream');
  private metadata?: UpstreamMetadata;
  private lastError = 'not fetched yet';
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Origin this process listens on, for reaching the built-in server (embedded mode). */
  private loopbackOrigin?: string;
  private firstFetch?: Promise<void>;
  /**
   * Marks this process's own calls to the built-in server, which has already applied the
   * per-IP limits at /mcp/register and /mcp/token; random per process, never sent elsewhere.
   */
  readonly internalToken = randomBytes(32).toString('base64url');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    if (!server) return; // an application context without HTTP (CLI commands)
    const begin = () => {
      const address = server.address() as AddressInfo | null;
      if (address && typeof address === 'object') {
        const host =
          address.family === 'IPv6'
            ? address.address === '::'
              ? '[::1]'
              : `[${address.address}]`
            : address.address === '0.0.0.0'
              ? '127.0.0.1'
              : address.address;
        this.loopbackOrigin = `http://${host}:${address.port}`;
      }
      this.firstFetch = this.refresh(0);
    };
    if (server.listening) begin();
    else server.once('listening', begin);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** The metadata, or undefined while the upstream has not answered yet. */
  current(): UpstreamMetadata | undefined {
    return this.metadata;
  }

  /** Why there is no metadata, for 503 answers. */
  unavailableReason(): string {
    return this.config.oauth.external
      ? `The OAuth provider ${this.config.oauth.issuer} has not answered (${this.lastError}). Sign-in and token checks resume as soon as it does; retry in a few seconds. Operators: check OAUTH_ISSUER and the network path to it.`
      : `The built-in authorization server is not ready (${this.lastError}); retry in a few seconds.`;
  }

  /** Resolves after the first fetch attempt (tests, and callers that can afford to wait). */
  async ready(): Promise<void> {
    await this.firstFetch;
  }

  /**
   * The URL to call for an upstream endpoint: the built-in server's public URLs are reached on
   * the loopback origin; anything else as published.
   */
  reachable(url: string): string {
    return this.isBuiltIn(url) && this.loopbackOrigin
      ? this.loopbackOrigin + url.slice(this.config.baseUrl.length)
      : url;
  }

  /** Headers for a call to `url`: the internal mark when it goes to the built-in server. */
  internalHeaders(url: string): Record<string, string> {
    return this.isBuiltIn(url) ? { [INTERNAL_HEADER]: this.internalToken } : {};
  }

  /** Whether `url` is one of the built-in server's (embedded mode: it lives under BASE_URL). */
  private isBuiltIn(url: string): boolean {
    return !this.config.oauth.external && url.startsWith(this.config.baseUrl + '/');
  }

  /** Whether a request to the built-in server came from this process's proxy. */
  isInternal(headerValue: string | string[] | undefined): boolean {
    if (typeof headerValue !== 'string') return false;
    const a = Buffer.from(headerValue);
    const b = Buffer.from(this.internalToken);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private async refresh(attempt: number): Promise<void> {
    if (this.stopped) return;
    try {
      this.metadata = await this.fetchMetadata();
      this.lastError = '';
      this.schedule(REFRESH_MS, 0);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      const wait = Math.min(MAX_RETRY_MS, 500 * 2 ** attempt);
      this.logger.warn(
        `OAuth metadata of ${this.config.oauth.issuer} unavailable (${this.lastError}); retrying in ${wait} ms`,
      );
      this.schedule(wait, attempt + 1);
    }
  }

  private schedule(ms: number, attempt: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh(attempt), ms).unref();
  }

  /**
   * The built-in server publishes its own metadata below its mount point (the root documents are
   * Bulwark's rewritten ones); a provider is tried at RFC 8414 §3's path-inserted well-known
   * URI, then at OpenID Connect Discovery's.
   */
  private async fetchMetadata(): Promise<UpstreamMetadata> {
    const issuer = new URL(this.config.oauth.issuer);
    const path = issuer.pathname.replace(/\/+$/, '');
    const candidates = this.config.oauth.external
      ? [
          `${issuer.origin}/.well-known/oauth-authorization-server${path}`,
          `${issuer.origin}${path}/.well-known/openid-configuration`,
        ]
      : [`${this.config.baseUrl}${BUILT_IN_ISSUER_PATH}/.well-known/openid-configuration`];
    const problems: string[] = [];
    for (const candidate of candidates) {
      try {
        const res = await fetch(this.reachable(candidate), {
          headers: { accept: 'application/json' },
          redirect: 'error',
          signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
        });
        if (!res.ok) {
          problems.push(`${candidate}: HTTP ${res.status}`);
          continue;
        }
        return validate((await res.json()) as Record<string, unknown>, this.config.oauth.issuer);
      } catch (error) {
        problems.push(`${candidate}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    throw new Error(problems.join('; '));
  }
}

/** RFC 8414 §3.3: the issuer must be the one configured; the endpoints Bulwark uses must exist. */
function validate(doc: Record<string, unknown>, issuer: string): UpstreamMetadata {
  if (doc.issuer !== issuer) {
    throw new Error(`metadata names issuer ${JSON.stringify(doc.issuer)}, expected ${issuer}`);
  }
  for (const field of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    if (typeof doc[field] !== 'string') throw new Error(`metadata has no ${field}`);
  }
  return doc as UpstreamMetadata;
}
