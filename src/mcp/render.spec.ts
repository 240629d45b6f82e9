import { counted, NOUNS, span } from '../common/text';
import { renderPage } from './render';

const page = (n: number, nextCursor: string | null = null) => ({
  items: Array.from({ length: n }, (_, i) => i),
  nextCursor,
});

describe('render', () => {
  it('counts with the noun in agreement, irregular plurals included', () => {
    expect(counted(0, NOUNS.request)).toBe('0 requests');
    expect(counted(1, NOUNS.request)).toBe('1 request');
    expect(counted(2, NOUNS.request)).toBe('2 requests');
    expect(counted(1, NOUNS.auditEntry)).toBe('1 audit entry');
    expect(counted(3, NOUNS.auditEntry)).toBe('3 audit entries');
  });

  it('says "the last day", not "the last 1 day"', () => {
    expect(`the last ${span(1, NOUNS.day)}`).toBe('the last day');
    expect(`the last ${span(7, NOUNS.day)}`).toBe('the last 7 days');
    expect(`the ${span(1, NOUNS.hour)} before`).toBe('the hour before');
    expect(`the ${span(24, NOUNS.hour)} before`).toBe('the 24 hours before');
  });

  it('heads a page with its count and plural, and names the next call', () => {
    const line = (i: number) => `item ${i}`;
    expect(renderPage(NOUNS.auditEntry, page(3, 'c1'), line, 'list-audit-entries')).toBe(
      [
        '3 audit entries:',
        '- item 0',
        '- item 1',
        '- item 2',
        'More audit entries: call list-audit-entries with cursor "c1".',
      ].join('\n'),
    );
    expect(renderPage(NOUNS.auditEntry, page(1), line, 'list-audit-entries')).toBe(
      '1 audit entry:\n- item 0',
    );
    expect(renderPage(NOUNS.auditEntry, page(0), line, 'list-audit-entries')).toBe(
      'No audit entries.',
    );
  });
});
