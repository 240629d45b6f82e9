import {
  type CountryCount,
  type DecisionRecord,
  type DryRunImpact,
  type DryRunWindow,
  type HourCount,
  type IpActivity,
  mergeRules,
  type NewIp,
  type TrafficSummary,
} from './analytics.port';

/** A decisions row as both stores return it (snake_case columns, JSON text for nested data). */
export interface StoredRow {
  id: string;
  site_id: string;
  team_id: string;
  ts_ms: number | bigint | string;
  ip: string;
  method: string;
  protocol: string;
  host: string;
  path: string;
  query: string;
  user_agent: string;
  headers: string;
  email: string | null;
  country: string | null;
  asn: number | bigint | string | null;
  as_org: string | null;
  network_type: string;
  bot_category: string | null;
  conclusion: string;
  reason: string;
  rule_id: string | null;
  results: string;
  dry_run_denials: readonly string[];
}

/** Maps a stored row back to the record that was written; empty strings stand for null. */
export function fromRow(r: StoredRow): DecisionRecord {
  return {
    id: r.id,
    siteId: r.site_id,
    teamId: r.team_id,
    timeMs: Number(r.ts_ms),
    ip: r.ip,
    method: r.method,
    protocol: r.protocol,
    host: r.host,
    path: r.path,
    query: r.query,
    userAgent: r.user_agent,
    headers: JSON.parse(r.headers) as Record<string, string>,
    email: nullable(r.email),
    country: nullable(r.country),
    asn: r.asn === null || r.asn === '' || Number(r.asn) === 0 ? null : Number(r.asn),
    asOrg: nullable(r.as_org),
    networkType: r.network_type,
    botCategory: nullable(r.bot_category),
    conclusion: r.conclusion as DecisionRecord['conclusion'],
    reason: r.reason as DecisionRecord['reason'],
    ruleId: nullable(r.rule_id),
    results: JSON.parse(r.results) as DecisionRecord['results'],
    dryRunDenials: [...r.dry_run_denials],
  };
}

const nullable = (v: string | null): string | null => (v === null || v === '' ? null : v);

/**
 * Analysis rows as both stores return them: counts as numbers, bigints or numeric strings;
 * unknowns as null (DuckDB) or '' and 0 (ClickHouse). One mapping, so the adapters differ only
 * in their SQL.
 */
type Count = number | bigint | string;
const nullableAsn = (v: Count | null): number | null =>
  v === null || v === '' || Number(v) === 0 ? null : Number(v);

export interface PathCountRow {
  path: string;
  count: Count;
}
export interface IpCountRow {
  ip: string;
  count: Count;
  country: string | null;
  network_type: string;
}

export const toPathCounts = (rows: readonly PathCountRow[]) =>
  rows.map((r) => ({ path: r.path, count: Number(r.count) }));

export const toIpCounts = (rows: readonly IpCountRow[]) =>
  rows.map((r) => ({
    ip: r.ip,
    count: Number(r.count),
    country: r.country || null,
    networkType: r.network_type,
  }));

/** Counts per decision reason in a comparison's recent range and the one before it. */
export interface ReasonRow {
  reason: string;
  requests: Count;
  denials: Count;
  prev_requests: Count;
  prev_denials: Count;
}

export function toTrafficSummary(
  reasons: readonly ReasonRow[],
  paths: readonly { path: string; requests: Count; denials: Count }[],
  ips: readonly {
    ip: string;
    requests: Count;
    denials: Count;
    country: string | null;
    asn: Count | null;
    network_type: string;
  }[],
  limit: number,
): TrafficSummary {
  const sum = (key: Exclude<keyof ReasonRow, 'reason'>) =>
    reasons.reduce((n, r) => n + Number(r[key]), 0);
  return {
    requests: sum('requests'),
    denials: sum('denials'),
    previous: { requests: sum('prev_requests'), denials: sum('prev_denials') },
    topPaths: paths.map((r) => ({
      path: r.path,
      requests: Number(r.requests),
      denials: Number(r.denials),
    })),
    topIps: ips.map((r) => ({
      ip: r.ip,
      requests: Number(r.requests),
      denials: Number(r.denials),
      country: r.country || null,
      asn: nullableAsn(r.asn),
      networkType: r.network_type,
    })),
    // Reasons are an enum: a handful of rows, ranked here.
    topDenialReasons: reasons
      .map((r) => ({ reason: r.reason, count: Number(r.denials) }))
      .filter((r) => r.count > 0)
      .sort((a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1))
      .slice(0, limit),
  };
}

/** The distinct window starts of a page of DRY_RUN rules, oldest first. */
export const windowStarts = (rules: readonly DryRunWindow[]): number[] =>
  [...new Set(rules.map((r) => r.fromMs))].sort((a, b) => a - b);

/** One count of the window statement: the site's decisions from `fromMs`, or those with an email. */
export interface WindowCount {
  fromMs: number;
  emailOnly: boolean;
}

/**
 * The distinct counts a page of DRY_RUN rules needs, oldest first: the window statement computes
 * them in one pass, as columns `e0`, `e1`, ... in this order.
 */
export function windowCounts(rules: readonly DryRunWindow[]): WindowCount[] {
  const counts = new Map<string, WindowCount>();
  for (const r of rules) {
    const emailOnly = r.emailOnly === true;
    counts.set(`${r.fromMs}/${emailOnly}`, { fromMs: r.fromMs, emailOnly });
  }
  return [...counts.values()].sort(
    (a, b) => a.fromMs - b.fromMs || Number(a.emailOnly) - Number(b.emailOnly),
  );
}

/** Counts of one rule's would-be denials, from the statement that groups them by rule. */
export interface DryRunCountRow {
  rule: string;
  would_deny: Count;
  also_denied: Count;
  likely_legit: Count;
}

/**
 * Assembles each rule's impact, in the order of `rules`, from the shared statements: decisions
 * per window count (windowCounts), counts per rule, and top IPs and paths per rule (already
 * ordered within a rule). Rules that denied nothing have no rows and get zeros.
 */
export function toDryRunImpacts(
  rules: readonly DryRunWindow[],
  /** Null where a sum had no rows to add (DuckDB). */
  evaluated: Readonly<Record<string, Count | null>> | undefined,
  counts: readonly DryRunCountRow[],
  ips: readonly (IpCountRow & { rule: string })[],
  paths: readonly (PathCountRow & { rule: string })[],
): DryRunImpact[] {
  const windows = windowCounts(rules);
  return rules.map((rule) => {
    const c = counts.find((r) => r.rule === rule.ruleId);
    const w = windows.findIndex(
      (x) => x.fromMs === rule.fromMs && x.emailOnly === (rule.emailOnly === true),
    );
    return {
      evaluated: Number(evaluated?.[`e${w}`] ?? 0),
      wouldDeny: Number(c?.would_deny ?? 0),
      alsoDeniedLive: Number(c?.also_denied ?? 0),
      likelyLegitimate: Number(c?.likely_legit ?? 0),
      topIps: toIpCounts(ips.filter((r) => r.rule === rule.ruleId)),
      topPaths: toPathCounts(paths.filter((r) => r.rule === rule.ruleId)),
    };
  });
}

export function toTeamUsage(rows: readonly { site_id: string; requests: Count }[], limit: number) {
  const bySite = rows.map((r) => ({ siteId: r.site_id, requests: Number(r.requests) }));
  return { requests: bySite.reduce((n, s) => n + s.requests, 0), bySite: bySite.slice(0, limit) };
}

export const toNewIps = (
  rows: readonly {
    ip: string;
    requests: Count;
    denials: Count;
    country: string | null;
    network_type: string;
  }[],
): NewIp[] =>
  rows.map((r) => ({
    ip: r.ip,
    requests: Number(r.requests),
    denials: Number(r.denials),
    country: r.country || null,
    networkType: r.network_type,
  }));

/**
 * One client's decisions on one of the team's sites, grouped by the rules they involved: a
 * handful of rows per site whatever its volume.
 */
export interface IpRuleGroupRow {
  site_id: string;
  rule_id: string | null;
  dry_run_denials: readonly string[];
  conclusion: string;
  requests: Count;
  first: Count | null;
  last: Count | null;
}

/**
 * IpActivity from one grouped statement over the team's sites (the site's totals, first and last
 * seen, LIVE and DRY_RUN rules; the team's totals), which reads the client's rows once where
 * separate statements read them four times; the top paths come from their own statement.
 */
export function toIpActivity(
  siteId: string,
  groups: readonly IpRuleGroupRow[],
  paths: readonly PathCountRow[],
  limit: number,
): IpActivity {
  let requests = 0;
  let denials = 0;
  let first: number | null = null;
  let last: number | null = null;
  const team = { requests: 0, denials: 0, sites: new Set<string>() };
  const live = new Map<string, number>();
  const dry = new Map<string, number>();
  for (const g of groups) {
    const n = Number(g.requests);
    if (n === 0) continue;
    team.requests += n;
    if (g.conclusion === 'DENY') team.denials += n;
    team.sites.add(g.site_id);
    if (g.site_id !== siteId) continue;
    requests += n;
    if (g.conclusion === 'DENY') denials += n;
    const f = Number(g.first);
    const l = Number(g.last);
    first = first === null ? f : Math.min(first, f);
    last = last === null ? l : Math.max(last, l);
    if (g.rule_id) live.set(g.rule_id, (live.get(g.rule_id) ?? 0) + n);
    for (const rule of g.dry_run_denials) dry.set(rule, (dry.get(rule) ?? 0) + n);
  }
  const counts = (m: Map<string, number>) => [...m].map(([rule, count]) => ({ rule, count }));
  return {
    requests,
    denials,
    firstSeenMs: first,
    lastSeenMs: last,
    topPaths: toPathCounts(paths),
    rulesTriggered: mergeRules(counts(live), counts(dry), limit),
    team: { requests: team.requests, denials: team.denials, sites: team.sites.size },
  };
}
/** Hourly counts of a comparison, `recent` 1 for the recent range: split, oldest first. */
export function toPeriodHours(
  rows: readonly { recent: Count | boolean; hour: Count; requests: Count; denials: Count }[],
): Record<'recent' | 'previous', HourCount[]> {
  const out: Record<'recent' | 'previous', HourCount[]> = { recent: [], previous: [] };
  for (const r of rows) {
    out[isRecent(r.recent) ? 'recent' : 'previous'].push({
      hourMs: Number(r.hour),
      requests: Number(r.requests),
      denials: Number(r.denials),
    });
  }
  out.recent.sort((a, b) => a.hourMs - b.hourMs);
  out.previous.sort((a, b) => a.hourMs - b.hourMs);
  return out;
}

/** Per-country counts of both ranges of a comparison: split, most first, unknown last. */
export function toPeriodCountries(
  rows: readonly { country: string | null; recent: Count; previous: Count }[],
): Record<'recent' | 'previous', CountryCount[]> {
  const list = (key: 'recent' | 'previous') =>
    rows
      .filter((r) => Number(r[key]) > 0)
      .map((r) => ({ country: r.country || null, requests: Number(r[key]) }))
      .sort((a, b) => b.requests - a.requests || byCountry(a.country, b.country));
  return { recent: list('recent'), previous: list('previous') };
}

/** Country codes in order, unknown (null) last: NULLS LAST in SQL. */
const byCountry = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1;

const isRecent = (v: Count | boolean) => v === true || Number(v) === 1;
