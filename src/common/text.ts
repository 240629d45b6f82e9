/** Counting words for summaries that agents and people read: agreement in number, spans of time. */

/**
 * A noun in both numbers. Both are spelled out because English plurals are not the singular plus
 * "s" often enough to matter (entry, entries; a summary that says "3 audit entrys" reads broken).
 */
export interface Noun {
  one: string;
  many: string;
}

/** The form of `noun` that agrees with `n`: `one` for exactly 1, `many` otherwise (0 requests). */
export function nounFor(n: number, noun: Noun): string {
  return n === 1 ? noun.one : noun.many;
}

/** `n` with its noun in agreement: "1 request", "2 requests", "0 requests". */
export function counted(n: number, noun: Noun): string {
  return `${n} ${nounFor(n, noun)}`;
}

/** Nouns that summaries count, spelled once. */
export const NOUNS = {
  request: { one: 'request', many: 'requests' },
  decision: { one: 'decision', many: 'decisions' },
  day: { one: 'day', many: 'days' },
  hour: { one: 'hour', many: 'hours' },
  rule: { one: 'rule', many: 'rules' },
  dryRunRule: { one: 'DRY_RUN rule', many: 'DRY_RUN rules' },
  site: { one: 'site', many: 'sites' },
  team: { one: 'team', many: 'teams' },
  auditEntry: { one: 'audit entry', many: 'audit entries' },
  spike: { one: 'traffic spike', many: 'traffic spikes' },
  geoShift: { one: 'geographic shift', many: 'geographic shifts' },
  botSignature: { one: 'new bot signature', many: 'new bot signatures' },
  ipSurge: { one: 'surging new IP', many: 'surging new IPs' },
} as const satisfies Record<string, Noun>;

/**
 * A length of time as English says it after "the last" or "the ... before": "day" for 1 (the
 * last day, not the last 1 day) and "7 days" otherwise.
 */
export function span(n: number, unit: Noun): string {
  return n === 1 ? unit.one : counted(n, unit);
}
