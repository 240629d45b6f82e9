import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Params } from 'nestjs-pino';
import { AppConfig } from '../config/config';
import { traceFields } from './tracing';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Paths that never reach the log: credentials in headers, and request bodies are not logged at
 * all. Keys and tokens appear in Authorization headers and in the key endpoints' answers, which
 * are not logged either. A redirect's Location can carry a one-time OAuth authorization code
 * (the built-in server's answer to the consent page), so it is not logged either.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'res.headers.location',
];

/** The request's id: the caller's own X-Request-Id when well-formed, else a new one; echoed back. */
export function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

export function loggerParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // A caller's own request id is kept for tracing when it is well-formed.
      genReqId: requestId,
      // With tracing on, every line carries the trace and span it belongs to.
      mixin: traceFields,
      autoLogging: { ignore: (req) => req.url === '/health' || req.url === '/metrics' },
      serializers: {
        req: (req: {
          id: string;
          method: string;
          url: string;
          headers: Record<string, unknown>;
        }) => ({
          id: req.id,
          method: req.method,
          url: req.url.split('?')[0],
          headers: {
            authorization: req.headers.authorization,
            'user-agent': req.headers['user-agent'],
          },
        }),
      },
    },
  };
}
