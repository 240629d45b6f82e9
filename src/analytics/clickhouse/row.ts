import type { DecisionRecord } from '../analytics.port';
import type { StoredRow } from '../rows';
import { integer } from './sql';

/** Column order of `decisions`; the same names as the DuckDB table. */
export const COLUMNS = [
  'id',
  'site_id',
  'team_id',
  'ts_ms',
  'ip',
  'method',
  'protocol',
  'host',
  'path',
  'query',
  'user_agent',
  'headers',
  'email',
  'country',
  'asn',
  'as_org',
  'network_type',
  'bot_category',
  'conclusion',
  'reason',
  'rule_id',
  'results',
  'dry_run_denials',
] as const satisfies ReadonlyArray<keyof StoredRow>;

/** A row as sent in JSONEachRow: nullable strings as '' and a null ASN as 0 (no Nullable columns). */
export interface ClickHouseRow {
  id: string;
  site_id: string;
  team_id: string;
  ts_ms: number;
  ip: string;
  method: string;
  protocol: string;
  host: string;
  path: string;
  query: string;
  user_agent: string;
  headers: string;
  email: string;
  country: string;
  asn: number;
  as_org: string;
  network_type: string;
  bot_category: string;
  conclusion: string;
  reason: string;
  rule_id: string;
  results: string;
  dry_run_denials: string[];
}

const UINT32_MAX = 0xffff_ffff;

/**
 * Maps a record to its row. Numbers are checked here because JSONEachRow would otherwise wrap an
 * out-of-range ASN or truncate a fractional time without an error.
 */
export function toClickHouseRow(d: DecisionRecord): ClickHouseRow {
  return {
    id: d.id,
    site_id: d.siteId,
    team_id: d.teamId,
    ts_ms: integer(d.timeMs),
    ip: d.ip,
    method: d.method,
    protocol: d.protocol,
    host: d.host,
    path: d.path,
    query: d.query,
    user_agent: d.userAgent,
    headers: JSON.stringify(d.headers),
    email: d.email ?? '',
    country: d.country ?? '',
    asn: d.asn === null ? 0 : integer(d.asn, 0, UINT32_MAX),
    as_org: d.asOrg ?? '',
    network_type: d.networkType,
    bot_category: d.botCategory ?? '',
    conclusion: d.conclusion,
    reason: d.reason,
    rule_id: d.ruleId ?? '',
    results: JSON.stringify(d.results),
    dry_run_denials: [...d.dryRunDenials],
  };
}
