import type { Page } from '../common/pagination';
import { counted, type Noun } from '../common/text';

/**
 * Compact text for a page of items, for clients that show only text: one line per item and
 * how to get the next page. The full data is in structuredContent.
 */
export function renderPage<T>(
  noun: Noun,
  page: Page<T>,
  line: (item: T) => string,
  nextCall: string,
): string {
  const head =
    page.items.length === 0 ? `No ${noun.many}.` : `${counted(page.items.length, noun)}:`;
  const lines = page.items.map((item) => `- ${line(item)}`);
  const tail = page.nextCursor
    ? [`More ${noun.many}: call ${nextCall} with cursor "${page.nextCursor}".`]
    : [];
  return [head, ...lines, ...tail].join('\n');
}
