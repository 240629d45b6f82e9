import { applyDecorators, HttpCode } from '@nestjs/common';
import { ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { createZodDto, ZodDto, ZodResponse } from 'nestjs-zod';
import { z } from 'zod';

/** The RFC 9457 problem document every REST error is answered with (see ProblemFilter). */
export const ProblemDocument = z
  .object({
    type: z.string().describe('Problem type URI, urn:bulwark:problem:<code>.'),
    title: z.string().describe('Short summary of the problem type.'),
    status: z.number().int().min(400).max(599).describe('The HTTP status code.'),
    detail: z.string().describe('What was wrong and what to do next.'),
    code: z
      .string()
      .describe(
        'Stable machine-readable code: validation_failed, invalid_id, malformed_json, unauthenticated, insufficient_scope, forbidden, not_found, conflict, payload_too_large, unsupported_media_type, unavailable, internal.',
      ),
    errors: z
      .array(z.object({ field: z.string(), message: z.string() }))
      .optional()
      .describe('Every bad field, on validation_failed: fix them all in one round trip.'),
    requestId: z.string().optional().describe('Names the request in the server logs.'),
  })
  .describe('RFC 9457 problem document, served as application/problem+json.');

/** Named for the OpenAPI component, #/components/schemas/Problem. */
class Problem extends createZodDto(ProblemDocument) {}

export const PROBLEM_CONTENT = {
  'application/problem+json': { schema: { $ref: getSchemaPath(Problem) } },
};

interface ProblemOptions {
  /** What the success answer means; a generic sentence for the status when omitted. */
  description?: string;
  /** When the route can answer 409: what conflicts, and what to do about it. */
  conflict?: string;
}

/** A success answer with a body, serialised through the DTO's zod schema. */
interface BodyAnswer<S extends z.ZodType> extends ProblemOptions {
  status: 200 | 201;
  type: ZodDto<S, boolean>;
}

/** A success answer without a body. */
interface EmptyAnswer extends ProblemOptions {
  status: 204;
}

type AnswersOptions = BodyAnswer<z.ZodType> | EmptyAnswer;

/** Like ZodResponse's: the handler must return what the schema describes. */
type RouteDecorator<T> = (
  target: object,
  key: string | symbol,
  descriptor: Pick<TypedPropertyDescriptor<(...args: never[]) => T | Promise<T>>, 'value'>,
) => void;

const SUCCESS: Record<AnswersOptions['status'], string> = {
  200: 'OK.',
  201: 'Created.',
  204: 'Done; no content.',
};

/**
 * Documents a REST route's answers in OpenAPI: the success status with its body (serialised
 * through the zod schema, as ZodResponse does) and every problem document it can answer with.
 * 400, 401, 403 and 503 hold for every authenticated route; 404 for a route that takes a path
 * id (a resource of another team looks missing); 413 and 415 for a route that takes a body;
 * 409 only where `conflict` says what conflicts. 404, 413 and 415 are read from the route's own
 * @Param and @Body (parameter decorators are applied before method decorators), so the document
 * follows the handler's signature instead of a list kept beside it.
 *
 * @example
 * @Post(':teamId/members')
 * @Answers({ status: 201, type: MemberDto, conflict: 'That person is already a member.' })
 * addMember(@CurrentActor() actor: Actor, @Param('teamId') teamId: string, @Body() body: AddMemberDto) {}
 */
export function Answers<S extends z.ZodType>(options: BodyAnswer<S>): RouteDecorator<z.input<S>>;
export function Answers(options: EmptyAnswer): RouteDecorator<void>;
export function Answers(options: AnswersOptions): MethodDecorator {
  const description = options.description ?? SUCCESS[options.status];
  const success =
    options.status === 204
      ? [HttpCode(204), ApiResponse({ status: 204, description })]
      : [
          ZodResponse({
            status: options.status,
            type: options.type as ZodDto<z.ZodType, false>,
            description,
          }),
        ];
  return applyDecorators(ApiExtraModels(Problem), ...success, problems(options));
}

/** The problem answers of one route, from what it takes. */
function problems(options: ProblemOptions): MethodDecorator {
  return (target, key, descriptor) => {
    const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, target.constructor, key) ??
      {}) as Record<string, unknown>;
    const takes = new Set(Object.keys(args).map((k) => Number(k.split(':')[0])));
    const body = takes.has(RouteParamtypes.BODY);
    const answers: [number, string][] = [
      [
        400,
        body
          ? 'Invalid input: validation_failed lists every bad field in errors; invalid_id names a malformed id; malformed_json means the body is not JSON.'
          : 'Invalid input: validation_failed lists every bad query parameter in errors; invalid_id names a malformed id.',
      ],
      [
        401,
        'No bearer token, or an invalid or expired one (unauthenticated); the WWW-Authenticate header says where to get one.',
      ],
      [
        403,
        'The token lacks the OAuth scope the route needs (insufficient_scope), or your role in the team does not allow it (forbidden).',
      ],
    ];
    if (takes.has(RouteParamtypes.PARAM)) {
      answers.push([
        404,
        'No such resource, or it belongs to a team you are not in: the same answer either way (not_found).',
      ]);
    }
    if (options.conflict) answers.push([409, `${options.conflict} (conflict)`]);
    if (body) {
      answers.push(
        [413, 'The body is larger than 100 kB (payload_too_large).'],
        [
          415,
          'The body is not JSON (unsupported_media_type); send it with Content-Type: application/json.',
        ],
      );
    }
    answers.push([
      503,
      'A dependency (the OAuth issuer, a database) is unavailable (unavailable); retry shortly.',
    ]);
    for (const [status, description] of answers) {
      ApiResponse({ status, description, content: PROBLEM_CONTENT })(target, key, descriptor);
    }
  };
}
