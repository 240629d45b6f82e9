/**
 * What an agent reads must fit its context whatever the data holds: every tool answer stays
 * under about 4,000 tokens. These are the limits the services build their answers with. Both
 * count UTF-8 bytes, not characters: a model's tokens follow bytes far more closely than
 * characters (a CJK character or an emoji is 3 or 4 bytes and one or more tokens), and request
 * strings are attacker-chosen, so a limit in characters would let them fill four times the room.
 */

/** The most one answer may hold, in bytes of UTF-8 JSON (about 4,000 tokens). */
export const OUTPUT_BUDGET = 16_000;

/** Longest request-derived string an answer returns, in UTF-8 bytes; longer ones are cut, marked with …. */
export const MAX_TEXT = 256;

const ELLIPSIS = '…';
const ELLIPSIS_BYTES = 3;

/** The size of a value as the agent receives it: bytes of its UTF-8 JSON. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value));
}

/** Cuts a request-derived string to MAX_TEXT bytes of UTF-8, never inside a character. */
export function bounded(text: string): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8: short strings need no counting.
  if (text.length * 3 <= MAX_TEXT || Buffer.byteLength(text) <= MAX_TEXT) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > MAX_TEXT - ELLIPSIS_BYTES) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end) + ELLIPSIS;
}
