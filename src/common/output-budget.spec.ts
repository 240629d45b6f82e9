import { bounded, MAX_TEXT } from './output-budget';

const bytes = (s: string) => Buffer.byteLength(s);

describe(bounded.name, () => {
  it('keeps a string that fits, whatever its characters', () => {
    expect(bounded('/search?q=select a size')).toBe('/search?q=select a size');
    const fits = '語'.repeat(85); // 255 bytes
    expect(bounded(fits)).toBe(fits);
    expect(bounded('a'.repeat(MAX_TEXT))).toBe('a'.repeat(MAX_TEXT));
  });

  it.each([
    ['ASCII', 'p'.repeat(8192), 'p'],
    ['three-byte characters', '語'.repeat(3000), '語'],
    ['four-byte characters (surrogate pairs)', '🤖'.repeat(3000), '🤖'],
    ['two-byte characters after an odd ASCII prefix', `x${'é'.repeat(3000)}`, 'é'],
  ])('cuts %s to MAX_TEXT bytes, on a character boundary, marked with …', (_, text, unit) => {
    const cut = bounded(text);
    expect(bytes(cut)).toBeLessThanOrEqual(MAX_TEXT);
    expect(bytes(cut)).toBeGreaterThan(MAX_TEXT - 3 - bytes(unit));
    expect(cut.endsWith('…')).toBe(true);
    expect(text.startsWith(cut.slice(0, -1))).toBe(true);
    // No half character: encoding round-trips.
    expect(Buffer.from(cut, 'utf8').toString('utf8')).toBe(cut);
  });
});
