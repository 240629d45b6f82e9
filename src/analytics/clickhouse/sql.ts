/**
 * The one way values reach ClickHouse SQL text. ClickHouse 18.16 has no server-side query
 * parameters (`{name:Type}` arrived in 19.x), so every value in a query is rendered here as a
 * literal, and query text is built only with the `sql` tag: literal template text from the
 * source, plus escaped values, checked identifiers and other `Sql` fragments.
 *
 * Inserts do not use this: rows go as JSONEachRow in the request body, never through SQL text.
 */

/** Stops other modules from minting `Sql` from arbitrary strings: only this module can. */
const MINT = Symbol('sql');

/** SQL text that is safe by construction: made only by `sql`, `identifier`, `tuple`, `joinSql`. */
export class Sql {
  /** The token is module-private, so `new Sql(...)` elsewhere throws. */
  constructor(
    token: symbol,
    readonly text: string,
  ) {
    if (token !== MINT) throw new TypeError('Sql is created only by the sql helpers');
  }

  toString(): string {
    return this.text;
  }
}

const mint = (text: string): Sql => new Sql(MINT, text);

/** A scalar that renders as a literal. */
export type SqlScalar = string | number | bigint | boolean;
/** What may be interpolated into `sql`: arrays render as array literals `[...]`. */
export type SqlValue = SqlScalar | readonly SqlScalar[] | Sql;

/**
 * Tagged template: `sql\`SELECT id FROM decisions WHERE id = ${id}\``. The template text is code;
 * each interpolation is a value rendered by `literal` (or an `Sql` fragment inserted as is).
 */
export function sql(strings: TemplateStringsArray, ...values: readonly SqlValue[]): Sql {
  // A real template object carries `raw`; a hand-made array passed as one would be a way to
  // smuggle arbitrary text in as "code".
  const raw: unknown = (strings as { raw?: unknown }).raw;
  if (!Array.isArray(raw)) throw new TypeError('sql must be used as a tagged template');
  let text = strings[0];
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    text += value instanceof Sql ? value.text : literal(value);
    text += strings[i + 1];
  }
  return mint(text);
}

/** Renders a value as a ClickHouse literal. */
export function literal(value: SqlScalar | readonly SqlScalar[]): string {
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'number' || typeof value === 'bigint') return quoteNumber(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (Array.isArray(value)) return quoteArray(value as readonly SqlScalar[]);
  // Reached only from untyped callers (null, undefined, objects): refuse rather than guess.
  throw new TypeError(`cannot render ${describe(value)} as a ClickHouse literal`);
}

/**
 * A ClickHouse string literal. Inside '...' the lexer treats backslash as an escape and ' as the
 * end, so both are escaped; control characters (NUL included) and DEL become `\xHH` so that the
 * query text is printable and survives logs and proxies. 18.16 accepts `\xHH` (and `\0`) but not
 * `\uXXXX`, so everything else stays as raw UTF-8, which ClickHouse stores byte for byte.
 */
export function quoteString(value: string): string {
  if (typeof value !== 'string') throw new TypeError(`expected a string, got ${describe(value)}`);
  let out = "'";
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    const code = value.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + "'";
}

/**
 * A numeric literal. Numbers must be finite (ClickHouse would read `NaN`/`Infinity` as other
 * things or fail); integers must be safe integers, since a larger double has already lost digits.
 * Negative numbers are parenthesised: `x -${n}` with n = -5 would otherwise read `x --5`, and
 * `--` starts a comment.
 */
export function quoteNumber(value: number | bigint): string {
  let text: string;
  if (typeof value === 'bigint') text = value.toString();
  else if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`expected a finite number, got ${describe(value)}`);
  } else if (Number.isInteger(value)) {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer`);
    text = (value === 0 ? 0 : value).toString(); // -0 renders as 0
  } else {
    text = value.toString(); // e.g. 0.5, 1e-7: both forms parse in ClickHouse
  }
  return text.startsWith('-') ? `(${text})` : text;
}

/** A checked integer for places that need one (LIMIT, UInt32 columns, millisecond times). */
export function integer(
  value: number,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
) {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`expected an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

/**
 * An array literal `[a, b]`. An empty `[]` has type Array(Nothing) on 18.16, which functions like
 * has() reject: callers that may pass an empty list must handle that case themselves.
 */
export function quoteArray(values: readonly SqlScalar[]): string {
  return `[${values.map((v) => literal(v)).join(', ')}]`;
}

/**
 * A parenthesised list for `x IN ${tuple(list)}` (18.16 rejects an array on the right of IN).
 * Empty lists throw: `IN ()` is not valid SQL, so the caller must short-circuit.
 */
export function tuple(values: readonly SqlScalar[]): Sql {
  if (values.length === 0) throw new RangeError('tuple() needs at least one value');
  return mint(`(${values.map((v) => literal(v)).join(', ')})`);
}

/**
 * An identifier (database or table name) from configuration, never from request data. Only
 * plain names are accepted, and they are back-quoted anyway so a keyword is still a name.
 */
export function identifier(name: string): Sql {
  if (!isIdentifier(name)) throw new TypeError(`not a valid identifier: ${JSON.stringify(name)}`);
  return mint(`\`${name}\``);
}

export function isIdentifier(name: string): boolean {
  return typeof name === 'string' && /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name);
}

/** Joins fragments; the separator is one of a fixed set so it cannot carry text of its own. */
export function joinSql(parts: readonly Sql[], separator: ' AND ' | ' OR ' | ', '): Sql {
  for (const part of parts) {
    if (!(part instanceof Sql)) throw new TypeError('joinSql joins Sql fragments only');
  }
  return mint(parts.map((p) => p.text).join(separator));
}

function describe(value: unknown): string {
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  return value === null ? 'null' : typeof value;
}
