import type { IncomingMessage } from 'node:http';
import express, { RequestHandler } from 'express';
import { DomainError, MalformedJsonError, UnsupportedMediaTypeError } from '../common/errors';
import { BUILT_IN_ISSUER_PATH } from '../config/config';
import { BODY_LIMIT } from './limits';
import { routeKey } from './route-ahead';

/**
 * A body the JSON parser could not read as JSON (malformed, or another format such as text or a
 * form), left in `req.body` in place of a value. The body pipe (ZodPipe) throws `error` when a
 * route reads its body. Body parsers run before Nest's guards, so answering here would tell a
 * caller without a valid token about the body before the 401 every other call gets; held until
 * the route needs the body, the problem is reported after authentication, and only by routes
 * that take a body (a stray body on POST /v1/rules/{ruleId}/promote is ignored, as ever).
 */
export class UnreadableBody {
  constructor(readonly error: DomainError) {}
}

/** JSON as /v1/decide and /mcp take it: application/json or any application/*+json type. */
const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * JSON bodies for the API; form bodies for the sign-in pages. The OAuth endpoints read their own
 * bodies: the built-in authorization server parses them itself and the proxy forwards them as
 * they came. A REST call without a bearer token is not read at all: every /v1 route Nest serves
 * needs one (/v1/decide, public, is served ahead of Nest), so the answer is the guard's 401
 * whatever the body holds, too large (413) included.
 */
export function bodyParsers(): RequestHandler {
  const json = express.json({ limit: BODY_LIMIT, type: JSON_TYPES });
  const form = express.urlencoded({ limit: '16kb', extended: false });
  const interactions = `${BUILT_IN_ISSUER_PATH}/interaction/`;
  return (req, res, next) => {
    const path = routeKey(req.path);
    if (path.startsWith(interactions)) return form(req, res, next);
    if (
      path.startsWith(`${BUILT_IN_ISSUER_PATH}/`) ||
      path === '/mcp/register' ||
      path === '/mcp/token'
    ) {
      return next();
    }
    if (path.startsWith('/v1/') && !/^Bearer\s/i.test(req.headers.authorization?.trim() ?? '')) {
      return next();
    }
    return json(req, res, (error?: unknown) => {
      if (error !== undefined && !isParseFailure(error)) return next(error);
      if (error !== undefined) {
        req.body = new UnreadableBody(new MalformedJsonError());
      } else if (req.body === undefined && hasBody(req)) {
        req.body = new UnreadableBody(new UnsupportedMediaTypeError(req.headers['content-type']));
      }
      next();
    });
  };
}

/** body-parser's error for a body that was read whole but is not JSON. */
function isParseFailure(error: unknown): boolean {
  return (error as { type?: unknown } | null)?.type === 'entity.parse.failed';
}

/** Whether the request carries a non-empty body (the JSON parser skipped it: not JSON). */
function hasBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length']) > 0
  );
}
