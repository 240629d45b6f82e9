import type { Page } from '../common/pagination';

/**
 * Compact text for a page of items, for clients that show only text: one line per item and
 * how to get the next page. The full data is in structuredContent.
 */
export function renderPage<T>(
  noun: string,
  page: Page<T>,
  line: (item: T) => string,
  nextCall: string,
): string {
  const head =
    page.items.length === 0
      ? `No ${noun}s.`
      : `${page.items.length} ${noun}${page.items.length === 1 ? '' : 's'}:`;
  const lines = page.items.map((item) => `- ${line(item)}`);
  const tail = page.nextCursor
    ? [`More ${noun}s: call ${nextCall} with cursor "${page.nextCursor}".`]
    : [];
  return [head, ...lines, ...tail].join('\n');
}
