import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { createZodValidationPipe } from 'nestjs-zod';
import { z } from 'zod';
import { ValidationError } from './errors';
import { toFieldErrors } from './validation';

/**
 * Validates REST bodies and queries with the same zod schemas the MCP tools use as input
 * schemas, and reports every bad field at once as a ValidationError.
 */
export const ZodPipe = createZodValidationPipe({
  createValidationException: (error) =>
    new ValidationError(
      error instanceof z.ZodError
        ? toFieldErrors(error)
        : [{ field: 'body', message: String(error) }],
    ),
});

/** OpenAPI schema of a zod input schema, for bodies that cannot be a DTO class (unions). */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  return z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as SchemaObject;
}
