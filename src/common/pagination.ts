import { z } from 'zod';
import { ValidationError } from './errors';
import { jsonBytes } from './output-budget';

const LIMIT = 'must be a whole number from 1 to 100';

/**
 * Lists are keyset-paginated on TypeIDs, which sort by creation time. A cursor is the last id of
 * the previous page, encoded so that callers treat it as opaque and cannot splice in other ids
 * by accident.
 */
export const PageQuery = z.strictObject({
  limit: z.coerce
    .number({ error: LIMIT })
    .int(LIMIT)
    .min(1, LIMIT)
    .max(100, LIMIT)
    .default(50)
    .describe('Page size, 1 to 100 (default 50).'),
  cursor: z
    .string()
    .max(200)
    .optional()
    .describe('nextCursor from the previous page; omit for the first page.'),
});
export type PageQuery = z.output<typeof PageQuery>;

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null when this is the last page. */
  nextCursor: string | null;
}

export const pageSchema = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z
      .string()
      .nullable()
      .describe('Pass as cursor to get the next page; null when there are no more items.'),
  });

export function encodeCursor(lastId: string): string {
  return Buffer.from(`v1:${lastId}`, 'utf8').toString('base64url');
}

/** Decodes a cursor back to the id it points after; `prefix` guards against cursors of other lists. */
export function decodeCursor(cursor: string | undefined, prefix: string): string | undefined {
  if (cursor === undefined) return undefined;
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const id = decoded.startsWith('v1:') ? decoded.slice(3) : '';
  if (!new RegExp(`^${prefix}_[0-7][0-9a-hjkmnp-tv-z]{25}$`).test(id)) {
    throw new ValidationError([
      {
        field: 'cursor',
        message:
          'is not a cursor this list issued; pass nextCursor from the previous page unchanged, or omit it to start from the first page',
      },
    ]);
  }
  return id;
}

/**
 * Builds a page from `limit + 1` fetched rows: the extra row only proves another page exists.
 * With `maxBytes`, the page also ends before its items' UTF-8 JSON would pass that many bytes
 * (it always holds at least one): MCP tools pass their output budget, so that a page fits an
 * agent's context whatever the rows hold, and the cursor continues where it stopped.
 */
export function toPage<T extends { id: string }, O>(
  rows: T[],
  limit: number,
  map: (row: T) => O,
  maxBytes = Infinity,
): Page<O> {
  const items: O[] = [];
  let bytes = 0;
  for (const row of rows.slice(0, limit)) {
    const item = map(row);
    if (maxBytes !== Infinity) {
      bytes += jsonBytes(item) + 1;
      if (items.length > 0 && bytes > maxBytes) break;
    }
    items.push(item);
  }
  const hasMore = rows.length > items.length;
  return {
    items,
    nextCursor: hasMore ? encodeCursor(rows[items.length - 1].id) : null,
  };
}
