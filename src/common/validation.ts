import { z } from 'zod';
import { FieldError, ValidationError } from './errors';

/**
 * Turns a zod error into one entry per bad field, so a caller fixes every problem in one round
 * trip. Unknown keys are reported one per key, because strict schemas reject them and the
 * caller must learn each name to remove.
 */
export function toFieldErrors(error: z.ZodError, prefix?: string): FieldError[] {
  const out: FieldError[] = [];
  for (const issue of error.issues) {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({
          field: base ? `${base}.${key}` : key,
          message: 'is not a recognised field; remove it',
        });
      }
      continue;
    }
    out.push({ field: base || 'body', message: describeIssue(issue) });
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

/**
 * Parses `input` with `schema`, throwing a ValidationError that lists every bad field; `prefix`
 * names where `input` sits in the caller's request (such as `config`).
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  prefix?: string,
  hint?: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ValidationError(toFieldErrors(result.error, prefix), hint);
  }
  return result.data;
}
