import {
  ArgumentsHost,
  Catch,
  ExceptionFilter,
  HttpException,
  Inject,
  Logger,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import {
  DomainError,
  InsufficientScopeError,
  MalformedJsonError,
  PayloadTooLargeError,
  UnauthenticatedError,
  ValidationError,
} from '../common/errors';
import { isMcpPath, jsonRpcError } from '../common/mcp-http';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: { field: string; message: string }[];
  requestId?: string;
  /** Health details, on 503 answers of /health. */
  checks?: unknown;
}

/**
 * Maps every error leaving a REST route to an RFC 9457 `application/problem+json` document.
 * Domain errors keep their message, which is written for the caller; anything unexpected
 * becomes a generic 500 that names the request id, and its stack goes to the log only.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request & { id?: string }>();
    const res = http.getResponse<Response>();
    const requestId = typeof req.id === 'string' ? req.id : undefined;
    const problem = this.toProblem(exception, req);
    problem.requestId = requestId;
    if (problem.status >= 500) {
      this.logger.error({ err: exception, requestId }, 'Unhandled error');
    }
    const challenge = this.challenge(exception, req);
    if (challenge) res.setHeader('WWW-Authenticate', challenge);
    if (res.headersSent) return;
    if (isMcpPath(req.path)) {
      // MCP clients read JSON-RPC, not problem documents; the HTTP status stays the same.
      const message = requestId ? `${problem.detail} (request id ${requestId})` : problem.detail;
      res
        .status(problem.status)
        .json(jsonRpcError(problem.code === 'malformed_json' ? -32700 : -32000, message));
      return;
    }
    res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private toProblem(exception: unknown, req: Request): Problem {
    if (exception instanceof DomainError) return domainProblem(exception);
    const status = httpStatus(exception);
    if (status === 404 && exception instanceof HttpException) {
      return problem(
        404,
        'route_not_found',
        'Not found',
        `No route ${req.method} ${req.path}. The API is described at /docs.`,
      );
    }
    if (status === 413) return domainProblem(new PayloadTooLargeError());
    // Our code throws only DomainErrors; Nest itself answers 400 only for a body it cannot parse.
    if (
      status === 400 &&
      (exception instanceof HttpException || bodyParserType(exception) === 'entity.parse.failed')
    ) {
      return domainProblem(new MalformedJsonError());
    }
    if (status === 503 && exception instanceof HttpException) {
      return {
        ...problem(
          503,
          'unavailable',
          'Service unavailable',
          'A dependency is unavailable; retry shortly.',
        ),
        checks: exception.getResponse(),
      };
    }
    if (status !== undefined && status < 500 && exception instanceof Error) {
      return problem(status, 'bad_request', 'Bad request', exception.message);
    }
    return problem(
      500,
      'internal',
      'Internal error',
      'Something went wrong on our side. Retry later; if it persists, report the requestId to your Bulwark operator.',
    );
  }

  private challenge(exception: unknown, req: Request): string | undefined {
    return bearerChallenge(exception, this.config.baseUrl, isMcpPath(req.path) ? '/mcp' : '/v1');
  }
}

/**
 * The `WWW-Authenticate` value for an authentication or scope failure on `resource`, naming the
 * resource's protected-resource metadata; undefined for any other error.
 */
export function bearerChallenge(
  exception: unknown,
  baseUrl: string,
  resource: '/mcp' | '/v1',
): string | undefined {
  const metadata = `resource_metadata="${baseUrl}/.well-known/oauth-protected-resource${resource}"`;
  if (exception instanceof UnauthenticatedError) {
    return exception.invalidToken
      ? `Bearer error="invalid_token", ${metadata}`
      : `Bearer ${metadata}`;
  }
  if (exception instanceof InsufficientScopeError) {
    return `Bearer error="insufficient_scope", scope="${exception.scope}", ${metadata}`;
  }
  return undefined;
}

/** The problem document of a domain error: the one mapping, also used outside Nest's pipeline. */
export function domainProblem(exception: DomainError): Problem {
  return {
    type: `urn:bulwark:problem:${exception.code}`,
    title: exception.title,
    status: exception.status,
    detail: exception.message,
    code: exception.code,
    ...(exception instanceof ValidationError ? { errors: exception.errors } : {}),
  };
}

export function problem(status: number, code: string, title: string, detail: string): Problem {
  return { type: `urn:bulwark:problem:${code}`, title, status, detail, code };
}

function httpStatus(exception: unknown): number | undefined {
  if (exception instanceof HttpException) return exception.getStatus();
  if (typeof exception === 'object' && exception !== null) {
    const { status, statusCode } = exception as { status?: unknown; statusCode?: unknown };
    const value = typeof status === 'number' ? status : statusCode;
    if (typeof value === 'number' && value >= 400 && value < 600) return value;
  }
  return undefined;
}

function bodyParserType(exception: unknown): string | undefined {
  const type = (exception as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}
