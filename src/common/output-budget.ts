/**
 * What an agent reads must fit its context whatever the data holds: every tool answer stays
 * under about 4,000 tokens. These are the limits the services build their answers with.
 */

/** The most one answer may hold, in characters of JSON (about 4,000 tokens). */
export const OUTPUT_BUDGET = 16_000;

/** Longest request-derived string an answer returns; longer ones are cut, marked with …. */
export const MAX_TEXT = 256;

/** Cuts a request-derived string to MAX_TEXT characters. */
export function bounded(text: string): string {
  return text.length <= MAX_TEXT ? text : `${text.slice(0, MAX_TEXT - 1)}…`;
}
