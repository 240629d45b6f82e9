import { z } from 'zod';
import { FieldError, ValidationError } from './errors';

/** What toFieldErrors may use, beyond the issues, to say what was expected. */
export interface IssueContext {
  /** The parsed input: an error quotes a query string that is not a number. */
  input?: unknown;
  /** The schema: an unknown key's error lists the keys it accepts. */
  schema?: z.ZodType;
  /** What a key of the input is called ("field", "query parameter"). */
  noun?: string;
}

/**
 * Turns a zod error into one entry per bad field, so a caller fixes every problem in one round
 * trip. Unknown keys are reported one per key, because strict schemas reject them and the
 * caller must learn each name to remove; with the schema at hand, the error lists the accepted
 * names too. A schema can word its own unknown-key error (the object's `error` option).
 */
export function toFieldErrors(
  error: z.ZodError,
  prefix?: string,
  context: IssueContext = {},
): FieldError[] {
  const out: FieldError[] = [];
  const noun = context.noun ?? 'field';
  for (const issue of error.issues) {
    const base = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') {
      const accepted = context.schema && acceptedKeys(context.schema, issue.path, context.input);
      const message = issue.message.startsWith('Unrecognized key')
        ? `is not a recognised ${noun}; remove it` +
          (accepted?.length ? ` (accepted: ${accepted.join(', ')})` : '')
        : issue.message;
      for (const key of issue.keys) {
        out.push({ field: base ? `${base}.${key}` : key, message });
      }
      continue;
    }
    out.push({
      field: base || 'body',
      message: describeIssue(issue, valueAt(context.input, issue.path)),
    });
  }
  return out;
}

function describeIssue(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_key': {
      // zod says only "Invalid key in record"; the key's own schema says what a key must be.
      const why = issue.issues.map((i) => i.message).join('; ');
      return `${quote(issue.path[issue.path.length - 1])} ${why || 'is not a valid key'}`;
    }
    case 'invalid_type':
    case 'too_small':
    case 'too_big': {
      const message = issue.message.replace(/^Invalid input: /, '');
      if (value === undefined && message.endsWith(', received undefined')) {
        return `is required (${message.slice(0, -', received undefined'.length)})`;
      }
      // A string where a number belongs (a query string zod coerced to NaN): quote what was sent.
      const numeric = issue.code === 'invalid_type' || issue.origin === 'number';
      if (typeof value !== 'string' || !numeric) return message;
      return /received (NaN|string)$/.test(message)
        ? message.replace(/(NaN|string)$/, quote(value))
        : `${message}, received ${quote(value)}`;
    }
    default:
      return issue.message.replace(/^Invalid input: /, '');
  }
}

/** A value from the caller, quoted and cut short (it may be long, or written to mislead). */
function quote(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

function valueAt(input: unknown, path: PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The keys the object at `path` of `schema` accepts; undefined when that is not one object. */
function acceptedKeys(
  schema: z.ZodType,
  path: PropertyKey[],
  input: unknown,
): string[] | undefined {
  let at = objectOf(schema, input);
  let value = input;
  for (const key of path) {
    const field = at?.shape[key as string] as z.ZodType | undefined;
    if (!field) return undefined;
    value = valueAt(value, [key]);
    at = objectOf(field, value);
  }
  return at && Object.keys(at.shape);
}

/**
 * The object schema `schema` validates `value` with, through optional, default, pipes and the
 * option of a discriminated union that `value`'s discriminator picks.
 */
function objectOf(schema: z.ZodType, value: unknown): z.ZodObject | undefined {
  let s: z.ZodType | undefined = schema;
  for (let depth = 0; s && depth < 10; depth++) {
    if (s instanceof z.ZodObject) return s;
    if (s instanceof z.ZodDiscriminatedUnion) {
      const key: string = s.def.discriminator;
      const tag = valueAt(value, [key]);
      s = (s.options as z.ZodType[]).find(
        (o) =>
          o instanceof z.ZodObject &&
          (o.shape[key] as z.ZodType | undefined)?.safeParse(tag).success === true,
      );
    } else if (s instanceof z.ZodPipe) {
      s = s.def.in as z.ZodType;
    } else {
      s = (s.def as { innerType?: z.ZodType }).innerType;
    }
  }
  return undefined;
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
  noun?: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new ValidationError(toFieldErrors(result.error, prefix, { input, schema, noun }), hint);
  }
  return result.data;
}
