import { ArgumentMetadata, Injectable, Optional, PipeTransform } from '@nestjs/common';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { ZodDto } from 'nestjs-zod';
import { z } from 'zod';
import { UnreadableBody } from '../platform/body-parsers';
import { ValidationError } from './errors';
import { parseInput } from './validation';

/**
 * Validates REST bodies and queries with the same zod schemas the MCP tools use as input
 * schemas (the DTO's, or the one given), and reports every bad field at once as a
 * ValidationError. A body the parsers could not read as JSON is reported here, when a route
 * takes it (see UnreadableBody): 400 malformed_json, or 415 unsupported_media_type.
 */
@Injectable()
export class ZodPipe implements PipeTransform {
  constructor(@Optional() private readonly schemaOrDto?: z.ZodType | ZodDto) {}

  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'body' && value instanceof UnreadableBody) throw value.error;
    const schema = schemaOf(this.schemaOrDto) ?? schemaOf(metadata.metatype);
    if (!schema) return value;
    if (metadata.type === 'body' && value === undefined) {
      throw new ValidationError([
        {
          field: 'body',
          message:
            'is missing; send a JSON object with Content-Type: application/json (the request schemas are at /docs)',
        },
      ]);
    }
    return parseInput(
      schema,
      value,
      undefined,
      undefined,
      metadata.type === 'query' ? 'query parameter' : 'field',
    );
  }
}

/** The schema of a zod schema or of a class made by createZodDto; undefined for anything else. */
function schemaOf(source: unknown): z.ZodType | undefined {
  if (source instanceof z.ZodType) return source;
  if (typeof source !== 'function') return undefined;
  const dto = source as { isZodDto?: unknown; schema?: unknown };
  return dto.isZodDto && dto.schema instanceof z.ZodType ? dto.schema : undefined;
}

/** OpenAPI schema of a zod input schema, for bodies that cannot be a DTO class (unions). */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  return z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0' }) as SchemaObject;
}
