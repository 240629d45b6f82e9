import { z } from 'zod';

/**
 * A URL path or path prefix: starts with `/`, at most `max` characters.
 *
 * Written as a pattern rather than zod's `.startsWith('/')`, which advertises the non-standard
 * `"format": "starts_with"` in the JSON Schema that MCP tools/list and OpenAPI serve; validators
 * that do not know a format ignore it, and strict ones reject the schema. `pattern: "^\/"` is
 * standard JSON Schema and checks the same thing, with the same error message.
 */
export function urlPath(max: number) {
  return z.string().regex(/^\//, 'must start with /').max(max);
}
