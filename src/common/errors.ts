/**
 * Domain errors are plain classes, free of HTTP and MCP details. Each interface translates them
 * where they leave the app: the REST exception filter maps `status` and `code` to RFC 9457
 * problem documents, the MCP adapter turns them into `isError` tool results. Every message says
 * what was wrong and what to do next, because the reader is often an agent that must recover.
 */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  abstract readonly status: number;
  abstract readonly title: string;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldError {
  /** Dotted path of the offending field, `body` or `query` for the whole object. */
  field: string;
  message: string;
}

export class ValidationError extends DomainError {
  readonly code = 'validation_failed';
  readonly status = 400;
  readonly title = 'Invalid input';

  constructor(
    readonly errors: FieldError[],
    hint?: string,
  ) {
    super(
      `Invalid input: ${errors.map((e) => `${e.field}: ${e.message}`).join('; ')}.` +
        (hint ? ` ${hint}` : ''),
    );
  }
}

export class InvalidIdError extends DomainError {
  readonly code = 'invalid_id';
  readonly status = 400;
  readonly title = 'Malformed id';

  constructor(
    readonly field: string,
    readonly prefix: string,
    readonly listedBy: string,
  ) {
    super(
      `${field} is not a valid id: expected a TypeID with ${prefix} prefix (${prefix}_ followed by 26 characters). ${listedBy}`,
    );
  }
}

/**
 * A missing resource and a resource of another team produce this same error, with the same
 * message, so that ids cannot be probed across teams.
 */
export class NotFoundError extends DomainError {
  readonly code = 'not_found';
  readonly status = 404;
  readonly title = 'Not found';

  constructor(
    readonly kind: string,
    readonly id: string,
    listedBy: string,
    /** What `id` is, when not an id (an e-mail address). */
    key = 'id',
  ) {
    super(`No ${kind} with ${key} ${id} exists or you do not have access to it. ${listedBy}`);
  }
}

export class ForbiddenError extends DomainError {
  readonly code = 'forbidden';
  readonly status = 403;
  readonly title = 'Forbidden';
}

/** The token lacks an OAuth scope the operation needs; a new token with that scope is required. */
export class InsufficientScopeError extends DomainError {
  readonly code = 'insufficient_scope';
  readonly status = 403;
  readonly title = 'Insufficient scope';

  constructor(readonly scope: string) {
    super(
      `This operation needs the OAuth scope ${scope}, which your token does not carry. Sign in again requesting ${scope}.`,
    );
  }
}

export class ConflictError extends DomainError {
  readonly code = 'conflict';
  readonly status = 409;
  readonly title = 'Conflict';
}

export class UnauthenticatedError extends DomainError {
  readonly code = 'unauthenticated';
  readonly status = 401;
  readonly title = 'Unauthenticated';

  constructor(
    message: string,
    /** True when a token was sent but rejected (RFC 6750 `error="invalid_token"`). */
    readonly invalidToken: boolean,
  ) {
    super(message);
  }
}

/** A dependency (the OAuth issuer, a database) cannot be reached; the caller may retry later. */
export class UnavailableError extends DomainError {
  readonly code = 'unavailable';
  readonly status = 503;
  readonly title = 'Service unavailable';
}

/** A decide call without a valid site key (missing, malformed, unknown or rotated). */
export class InvalidSiteKeyError extends DomainError {
  readonly code = 'invalid_site_key';
  readonly status = 401;
  readonly title = 'Invalid site key';
}

/** A request body that is not valid JSON. */
export class MalformedJsonError extends DomainError {
  readonly code = 'malformed_json';
  readonly status = 400;
  readonly title = 'Malformed JSON';

  constructor() {
    super(
      'The request body is not valid JSON; send a JSON object with Content-Type: application/json.',
    );
  }
}

/** A request body larger than the limit every route shares (BODY_LIMIT in platform/limits.ts). */
export class PayloadTooLargeError extends DomainError {
  readonly code = 'payload_too_large';
  readonly status = 413;
  readonly title = 'Payload too large';

  constructor() {
    super('The request body exceeds the size limit of 100 kB; send a smaller body.');
  }
}

/** A request body in another format than JSON (text, a form) to a route that reads JSON. */
export class UnsupportedMediaTypeError extends DomainError {
  readonly code = 'unsupported_media_type';
  readonly status = 415;
  readonly title = 'Unsupported media type';

  constructor(contentType: string | undefined) {
    // The media type is echoed only when it is one (a header could hold anything).
    const type = contentType?.split(';')[0].trim().toLowerCase();
    const sent = !type
      ? 'The request body has no Content-Type'
      : /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(type)
        ? `The request body is ${type}`
        : 'The request body has an unrecognised Content-Type';
    super(
      `${sent}, but this route reads JSON only: send a JSON object with Content-Type: application/json (the request schemas are at /docs).`,
    );
  }
}
