import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import {
  DomainError,
  InvalidSiteKeyError,
  MalformedJsonError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../common/errors';
import { toFieldErrors } from '../common/validation';
import { PROBLEM_CONTENT } from '../common/openapi';
import { openApiSchema } from '../common/zod-pipe';
import { requestId } from '../platform/logging';
import { nameRequestSpan } from '../platform/tracing';
import { routeAhead } from '../platform/route-ahead';
import { Metrics } from '../platform/metrics';
import { domainProblem, Problem, problem } from '../platform/problem.filter';
import { BODY_LIMIT_BYTES, readBody } from '../platform/limits';
import { SITE_KEY_PREFIX } from '../sites/site-keys';
import { DecideInput, DecideOutput } from './decide.schemas';
import { DecideService } from './decide.service';
import { SiteDirectory } from './site-directory';

const PATH = '/v1/decide';
const ROUTE = 'POST /v1/decide';
const KEY_HINT =
  'Send the site key as "Authorization: Bearer bwk_..."; a key manager reads it with GET /v1/sites/{siteId}/key (MCP: get-site-key).';

/**
 * `POST /v1/decide`, served straight from node:http rather than through Nest's pipeline.
 *
 * Protected apps call it for every request they serve, so its overhead is their latency. Nest's
 * router, guards, pipes, interceptors and per-request logging cost several times the decision
 * itself (measured, README "Benchmarks"), so this one route keeps only what it needs, in the
 * same order and with the same answers as any other route: request id, metrics, site-key
 * authentication before anything is parsed, the 100 kB body limit (413), JSON only (415), the
 * one zod schema (400 naming every field), RFC 9457 problem documents. Decisions are not logged
 * per request: each one is stored in analytics, which is the log.
 */
@Injectable()
export class DecideHttpHandler {
  private readonly logger = new Logger('DecideHttp');

  constructor(
    private readonly sites: SiteDirectory,
    private readonly decisions: DecideService,
    private readonly metrics: Metrics,
  ) {}

  /** Routes POST /v1/decide on `server` to this handler, everything else to the app as before. */
  install(server: Server): void {
    routeAhead(
      server,
      (req) =>
        req.method === 'POST' && (req.url === PATH || req.url?.startsWith(`${PATH}?`) === true),
      (req, res) => this.handle(req, res),
    );
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const id = requestId(req, res);
    nameRequestSpan(req, PATH);
    const end = this.metrics.httpDuration.startTimer({ method: 'POST', route: PATH });
    res.on('finish', () => {
      end();
      this.metrics.httpRequests.inc({
        method: 'POST',
        route: PATH,
        status: String(res.statusCode),
      });
    });
    this.run(req, res).catch((error: unknown) => {
      if (error instanceof DomainError) return this.fail(res, domainProblem(error), id);
      this.logger.error({ err: error, requestId: id }, `Unhandled error in ${ROUTE}`);
      this.fail(
        res,
        problem(
          500,
          'internal',
          'Internal error',
          'Something went wrong on our side. Retry later; if it persists, report the requestId to your Bulwark operator.',
        ),
        id,
      );
    });
  }

  private async run(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Who is calling comes first: nobody without a key learns anything, not even the schema.
    const key = /^Bearer (\S+)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1];
    if (!key?.startsWith(SITE_KEY_PREFIX)) {
      throw new InvalidSiteKeyError(`This endpoint needs a site key. ${KEY_HINT}`);
    }
    const [site, raw] = await Promise.all([this.sites.resolveKey(key), readJson(req)]);
    if (!site) {
      throw new InvalidSiteKeyError(
        `The site key is not valid: it is unknown or has been rotated. ${KEY_HINT}`,
      );
    }
    if (raw instanceof Failure) throw raw.error;
    const input = DecideInput.safeParse(raw);
    if (!input.success) throw new ValidationError(toFieldErrors(input.error));
    const body = JSON.stringify(await this.decisions.decide(site, input.data));
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private fail(res: ServerResponse, p: Problem, id: string): void {
    if (res.headersSent) return;
    const body = JSON.stringify({ ...p, requestId: id });
    res.writeHead(p.status, {
      'content-type': 'application/problem+json',
      'content-length': Buffer.byteLength(body),
      ...(p.status === 401 ? { 'www-authenticate': 'Bearer realm="bulwark-decide"' } : {}),
    });
    res.end(body);
  }
}

/** A body problem, held until the key is known to be good (or not). */
class Failure {
  constructor(readonly error: DomainError) {}
}

const TOO_LARGE = new Failure(new PayloadTooLargeError());
const MALFORMED = new Failure(new MalformedJsonError());

/** Reads and parses a JSON body of at most BODY_LIMIT_BYTES; a Failure instead of throwing. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
    req.resume();
    return new Failure(new UnsupportedMediaTypeError(req.headers['content-type']));
  }
  return readBody(req, BODY_LIMIT_BYTES).then((body) => {
    if (body === 'too_large') return TOO_LARGE;
    if (body === 'aborted') return MALFORMED;
    try {
      return JSON.parse(body.toString('utf8')) as unknown;
    } catch {
      return MALFORMED;
    }
  });
}

/** Adds POST /v1/decide to the OpenAPI document, from the same zod schemas the handler uses. */
export function documentDecide(document: OpenAPIObject): OpenAPIObject {
  const problemRef = { description: 'Problem document (RFC 9457).', content: PROBLEM_CONTENT };
  document.paths[PATH] = {
    post: {
      tags: ['decide'],
      summary: 'Decide on one request of a protected app',
      description:
        'Authenticated by the site key (Authorization: Bearer bwk_...), not OAuth. LIVE rules decide (first DENY in the order filter, shield, bot, email, rate_limit); DRY_RUN rules are evaluated and recorded, never enforced.',
      security: [{ bearer: [] }],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: openApiSchema(DecideInput) } },
      },
      responses: {
        '200': {
          description: 'The decision.',
          content: {
            'application/json': {
              schema: z.toJSONSchema(DecideOutput, { target: 'openapi-3.0' }) as object,
            },
          },
        },
        '400': problemRef,
        '401': problemRef,
        '413': problemRef,
        '415': problemRef,
      },
    },
  };
  return document;
}
