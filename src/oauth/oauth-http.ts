import type { Request, Response } from 'express';
import { OAuthAbuseLimits, OAuthLimit } from './abuse-limits';

/** An OAuth error answer (RFC 6749 §5.2 shape), the only kind the OAuth endpoints send. */
export function oauthError(
  res: Response,
  status: number,
  error: string,
  description: string,
  retryAfterSeconds?: number,
): void {
  if (retryAfterSeconds) res.setHeader('retry-after', String(retryAfterSeconds));
  res.status(status).json({ error, error_description: description });
}

/**
 * Counts the request against its per-IP `limit`; over it, drains the body, answers 429 as an
 * OAuth error and returns true.
 */
export async function refusedByLimit(
  limits: OAuthAbuseLimits,
  limit: OAuthLimit,
  req: Request,
  res: Response,
): Promise<boolean> {
  const retryAfter = await limits.consume(limit, req.ip ?? 'unknown');
  if (!retryAfter) return false;
  req.resume();
  oauthError(
    res,
    429,
    'temporarily_unavailable',
    `Too many requests from this address; retry in ${retryAfter} s.`,
    retryAfter,
  );
  return true;
}

/** Largest client registration (RFC 7591 metadata) accepted, at /mcp/register and /oauth/reg. */
export const MAX_REGISTRATION_BYTES = 16 * 1024;
