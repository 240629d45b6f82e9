import type { IncomingMessage } from 'node:http';

/** Largest request body any route accepts; larger ones get 413. */
export const BODY_LIMIT = '100kb';
export const BODY_LIMIT_BYTES = 100 * 1024;

/** Why a body could not be read: larger than the limit, or the client went away mid-body. */
export type BodyReadFailure = 'too_large' | 'aborted';

/**
 * Reads a request body of at most `limit` bytes without throwing. Past the limit the rest is
 * drained and discarded, so the connection stays usable for the error answer.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | BodyReadFailure> {
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume();
    return Promise.resolve('too_large');
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > limit ? 'too_large' : Buffer.concat(chunks, size)));
    req.on('error', () => resolve('aborted'));
    // A client that goes away mid-body never sends 'end'; settle so nothing waits forever.
    req.on('close', () => resolve('aborted'));
  });
}
