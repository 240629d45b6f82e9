import { Controller, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { readBody } from '../platform/limits';
import { OAuthAbuseLimits, OAuthLimit } from './abuse-limits';
import { MAX_REGISTRATION_BYTES, oauthError, refusedByLimit } from './oauth-http';
import { OAuthUpstream } from './upstream';

/** Each proxied endpoint: the body it accepts, its size limit, its per-IP limit. */
const ENDPOINTS = {
  register: {
    upstreamField: 'registration_endpoint',
    contentType: /^application\/json\s*(;|$)/i,
    expected: 'application/json (RFC 7591 client metadata)',
    maxBytes: MAX_REGISTRATION_BYTES,
    limit: 'registerPerIp',
  },
  token: {
    upstreamField: 'token_endpoint',
    contentType: /^application\/x-www-form-urlencoded\s*(;|$)/i,
    expected: 'application/x-www-form-urlencoded (RFC 6749 token request)',
    maxBytes: 8 * 1024,
    limit: 'tokenPerIp',
  },
} as const satisfies Record<
  string,
  {
    upstreamField: string;
    contentType: RegExp;
    expected: string;
    maxBytes: number;
    limit: OAuthLimit;
  }
>;
type Endpoint = keyof typeof ENDPOINTS;

const UPSTREAM_TIMEOUT_MS = 10_000;
/** Request headers a token or registration request may need upstream (client auth, DPoP). */
const FORWARDED_REQUEST_HEADERS = ['content-type', 'accept', 'authorization', 'dpop', 'user-agent'];
/** Response headers worth passing back: caching rules, challenges, DPoP nonces. */
const FORWARDED_RESPONSE_HEADERS = [
  'content-type',
  'cache-control',
  'pragma',
  'www-authenticate',
  'dpop-nonce',
];

/**
 * `/mcp/register` (RFC 7591) and `/mcp/token` (RFC 6749) forward to the upstream authorization
 * server, so MCP clients talk OAuth with this origin only. The body is forwarded byte for byte
 * after checks on its type and size; the upstream's answer, OAuth errors included, comes back as
 * it was. Failures of the proxy itself are OAuth JSON errors too, never HTML or problem documents.
 */
@ApiExcludeController()
@Public()
@Controller('mcp')
export class OAuthProxyController {
  constructor(
    private readonly upstream: OAuthUpstream,
    private readonly limits: OAuthAbuseLimits,
  ) {}

  @Post('register')
  register(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward('register', req, res);
  }

  @Post('token')
  token(@Req() req: Request, @Res() res: Response): Promise<void> {
    return this.forward('token', req, res);
  }

  private async forward(name: Endpoint, req: Request, res: Response): Promise<void> {
    const endpoint = ENDPOINTS[name];
    res.setHeader('cache-control', 'no-store');
    if (await refusedByLimit(this.limits, endpoint.limit, req, res)) return;
    if (!endpoint.contentType.test(req.headers['content-type'] ?? '')) {
      req.resume();
      return oauthError(
        res,
        400,
        'invalid_request',
        `Unsupported Content-Type ${JSON.stringify(req.headers['content-type'] ?? '')}: send ${endpoint.expected}.`,
      );
    }
    const body = await readBody(req, endpoint.maxBytes);
    if (body === 'too_large') {
      return oauthError(
        res,
        413,
        'invalid_request',
        `The request body exceeds ${endpoint.maxBytes / 1024} kB.`,
      );
    }
    if (body === 'aborted') return;
    if (name === 'register' && !isJsonObject(body)) {
      return oauthError(
        res,
        400,
        'invalid_client_metadata',
        'The body is not a JSON object of client metadata (RFC 7591 §2).',
      );
    }
    const metadata = this.upstream.current();
    if (!metadata) {
      return oauthError(res, 503, 'temporarily_unavailable', this.upstream.unavailableReason(), 5);
    }
    const target = metadata[endpoint.upstreamField];
    if (typeof target !== 'string') {
      return oauthError(
        res,
        404,
        'invalid_request',
        'The OAuth provider does not support dynamic client registration; register a client with it directly.',
      );
    }
    const headers: Record<string, string> = this.upstream.internalHeaders(target);
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    let upstream: globalThis.Response;
    try {
      upstream = await fetch(this.upstream.reachable(target), {
        method: 'POST',
        headers,
        body: new Uint8Array(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
      });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      return oauthError(
        res,
        timedOut ? 504 : 502,
        'temporarily_unavailable',
        timedOut
          ? `The OAuth provider did not answer within ${UPSTREAM_TIMEOUT_MS / 1000} s; retry.`
          : 'The OAuth provider could not be reached; retry shortly.',
      );
    }
    const text = await upstream.text();
    const type = upstream.headers.get('content-type') ?? '';
    if (!/json/i.test(type)) {
      // An HTML error page or an empty answer: nothing an OAuth client can act on.
      return oauthError(
        res,
        502,
        'server_error',
        `The OAuth provider answered HTTP ${upstream.status} without a JSON body.`,
      );
    }
    for (const name of FORWARDED_RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value !== null) res.setHeader(name, value);
    }
    res.status(upstream.status).send(text);
  }
}

function isJsonObject(body: Buffer): boolean {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
