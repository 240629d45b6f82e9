import type { DecisionRecord } from './analytics.port';

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
