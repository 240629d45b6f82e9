import { createHash } from 'node:crypto';
import { ClickHouseClient, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import {
  AnalyticsStore,
  Comparison,
  CountryCount,
  DecisionFilter,
  DecisionRecord,
  DryRunImpact,
  DryRunWindow,
  HOUR_MS,
  HourCount,
  IpActivity,
  NewBotSignature,
  NewIp,
  SiteRange,
  TrafficSummary,
  TrafficTop,
} from '../analytics.port';
import {
  DryRunCountRow,
  fromRow,
  IpCountRow,
  PathCountRow,
  ReasonRow,
  StoredRow,
  toDryRunImpacts,
  toIpActivity,
  IpRuleGroupRow,
  toNewIps,
  toPeriodCountries,
  toPeriodHours,
  toTeamUsage,
  toTrafficSummary,
  windowCounts,
  windowStarts,
} from '../rows';
import { COLUMNS, toClickHouseRow } from './row';
import { identifier, integer, isIdentifier, joinSql, quoteString, Sql, sql, tuple } from './sql';

export interface ClickHouseStoreOptions {
  /** Overrides the database named in the URL path. */
  database?: string;
  /** Per-request timeout; the client's default is 30 s. */
  requestTimeoutMs?: number;
}

/**
 * The IP of a decision that could count as likely legitimate, '' for the others. The heuristic
 * lives here once: the dry-run rollup is built with it, and the hours the rollup does not cover
 * are read from `decisions` with it.
 */
const LEGIT_IP = sql`if(conclusion = 'ALLOW' AND network_type = 'residential' AND bot_category = '', ip, '')`;

/**
 * An hourly rollup of `decisions`, defined once for its migration, its view and its readers:
 * `raw` computes its columns from a decision (from `rawFrom`, which may unnest, and only for the
 * decisions `counts` selects), `columns` names them as stored, `schema` and `orderBy` define the
 * table. Every rollup also has `hour` and a `requests` count.
 */
interface Rollup {
  table: string;
  schema: Sql;
  orderBy: Sql;
  columns: Sql;
  raw: Sql;
  rawFrom?: Sql;
  counts?: Sql;
}

/**
 * Decisions counted per site, hour and the low-cardinality columns the totals, reasons, hours,
 * countries, networks and quota group by (about 1/50 of the rows on the demo traffic).
 * `with_email` (1 when the request carried an email) is there for the window count of email
 * rules (DryRunWindow.emailOnly); it at most doubles the groups, and every other reader sums
 * over both of its values.
 */
const HOURLY: Rollup = {
  table: 'decisions_hourly',
  schema: sql`site_id String, team_id String, hour Int64, conclusion String, reason String,
    country String, asn UInt32, as_org String, network_type String, with_email UInt8`,
  orderBy: sql`site_id, hour, conclusion, reason, country, asn, network_type, as_org, team_id,
    with_email`,
  columns: sql`site_id, team_id, conclusion, reason, country, asn, as_org, network_type,
    with_email`,
  raw: sql`site_id, team_id, conclusion, reason, country, asn, as_org, network_type,
    email != '' AS with_email`,
};

/**
 * Per site, hour and DRY_RUN rule, the decisions the rule would have denied, counted by live
 * conclusion. The client IP is kept only for the hits that could count as likely legitimate
 * (LEGIT_IP; see DryRunImpact.likelyLegitimate), because only for those does the IP matter (was
 * it denied live?); every other hit folds into one row per group. So the rollup stays small: on
 * the demo traffic about 1/300 of the rows it counts.
 */
const DRY_RUN: Rollup = {
  table: 'dry_run_hourly',
  schema: sql`site_id String, hour Int64, rule String, conclusion String, legit_ip String`,
  orderBy: sql`site_id, hour, rule, conclusion, legit_ip`,
  columns: sql`site_id, rule, conclusion, legit_ip`,
  raw: sql`site_id, rule, conclusion, ${LEGIT_IP} AS legit_ip`,
  rawFrom: sql`decisions ARRAY JOIN dry_run_denials AS rule`,
};

/**
 * The IPs that LIVE rules denied, per site and hour. Whether an IP was denied in a window (the
 * dry-run "likely legitimate" test) is looked up among about a third of the denied decisions'
 * rows on the demo traffic, without reading `decisions`.
 */
const DENIED: Rollup = {
  table: 'denied_hourly',
  schema: sql`site_id String, hour Int64, ip String`,
  orderBy: sql`site_id, hour, ip`,
  columns: sql`site_id, ip`,
  raw: sql`site_id, ip`,
  counts: sql`conclusion = 'DENY'`,
};

/**
 * Requests per site, hour and bot user agent (decisions with a bot category only). Bots send few
 * distinct user agents, so new signatures are found among a few rows per hour.
 */
const BOTS: Rollup = {
  table: 'bots_hourly',
  schema: sql`site_id String, hour Int64, user_agent String, bot_category String`,
  orderBy: sql`site_id, hour, user_agent, bot_category`,
  columns: sql`site_id, user_agent, bot_category`,
  raw: sql`site_id, user_agent, bot_category`,
  counts: sql`bot_category != ''`,
};

/**
 * The statements that (re)build a rollup: a SummingMergeTree partitioned by month of `hour`,
 * kept by the materialized view `<table>_mv` on every insert into `decisions`, and backfilled by
 * the view's own query. Dropped first, so that running them again rebuilds instead of counting
 * twice; the backfill reads `decisions` after the view exists, so rows that another instance
 * writes during it (seconds) would be counted twice: upgrade to such a version with one writer.
 */
function rollupMigration(r: Rollup): Sql[] {
  const table = identifier(r.table);
  const view = identifier(`${r.table}_mv`);
  const select = sql`SELECT intDiv(ts_ms, ${HOUR_MS}) * ${HOUR_MS} AS hour, ${r.raw},
      count() AS requests
    FROM ${r.rawFrom ?? sql`decisions`} WHERE ${r.counts ?? sql`1`}
    GROUP BY hour, ${r.columns}`;
  return [
    sql`DROP TABLE IF EXISTS ${view}`,
    sql`DROP TABLE IF EXISTS ${table}`,
    sql`CREATE TABLE ${table} (${r.schema}, requests UInt64) ENGINE = SummingMergeTree()
      PARTITION BY toYYYYMM(toDateTime(intDiv(hour, 1000), 'UTC')) ORDER BY (${r.orderBy})`,
    sql`CREATE MATERIALIZED VIEW ${view} TO ${table} AS ${select}`,
    // INSERT ... SELECT maps columns by position (the view maps them by name): name them.
    sql`INSERT INTO ${table} (hour, ${r.columns}, requests) ${select}`,
  ];
}

/**
 * Migrations in order; the index + 1 is the version recorded in `bulwark_schema`. ClickHouse has
 * no transactions, so every statement must be safe to run again (IF NOT EXISTS): a crash between
 * a migration and its version row just repeats the migration. One statement per entry, because
 * the HTTP interface runs one statement per request.
 *
 * Written for 18.16 (Debian bookworm) and later: no Nullable (nulls are '' and ASN 0, as
 * `fromRow` expects), no LowCardinality, DateTime64, TTL or IPv4 types. ReplacingMergeTree merges
 * away rows with the same sorting key, so a duplicate that slipped past the insert check (two
 * writers racing) disappears eventually; the readers meanwhile read each id once (LIMIT 1 BY).
 */
const MIGRATIONS: readonly (readonly Sql[])[] = [
  [
    sql`CREATE TABLE IF NOT EXISTS decisions (
      id String,
      site_id String,
      team_id String,
      ts_ms Int64,
      ip String,
      method String,
      protocol String,
      host String,
      path String,
      query String,
      user_agent String,
      headers String,
      email String,
      country String,
      asn UInt32,
      as_org String,
      network_type String,
      bot_category String,
      conclusion String,
      reason String,
      rule_id String,
      results String,
      dry_run_denials Array(String)
    ) ENGINE = ReplacingMergeTree()
    PARTITION BY toYYYYMM(toDateTime(intDiv(ts_ms, 1000), 'UTC'))
    ORDER BY (site_id, ts_ms, id)`,
  ],
  // The rollups (see rollupMigration), one version each. Summing merges are eventual, so
  // readers always sum() again. A changed rollup is rebuilt (dropped and backfilled) by a new
  // version, and the version that built its old form becomes empty: a store upgrading past both
  // backfills it once, and the old form is never built again.
  [], // 2 built decisions_hourly without with_email; 6 rebuilds it.
  rollupMigration(DRY_RUN),
  rollupMigration(BOTS),
  rollupMigration(DENIED),
  rollupMigration(HOURLY),
];

const SELECT_COLUMNS = joinSql(COLUMNS.map(identifier), ', ');

/**
 * Lists of ids in query text are cut into pieces that keep a query below ClickHouse's
 * max_query_size (256 KiB by default), so a 10k batch needs no server setting raised.
 */
const MAX_LIST_CHARS = 192 * 1024;

/**
 * The range lookup in storedIds reads at most max(MIN, FACTOR x batch) ids before it gives up for
 * the id-list lookup: enough for a live batch among other writers, bounded for a wide range.
 */
const RANGE_LOOKUP_MIN = 20_000;
const RANGE_LOOKUP_FACTOR = 4;

interface IdSiteTime {
  id: string;
  site_id: string;
  ts_ms: number;
}

/**
 * The production analytics store. Rows are written as JSONEachRow in the request body (values
 * never pass through SQL text); values in queries go through the `sql` helper.
 *
 * Idempotency without unique keys: before inserting, the batch's ids that are already stored are
 * looked up and skipped, and one store instance writes one batch at a time so its own lookups and
 * inserts cannot interleave. The insert's query_id is derived from the ids it writes: if an
 * earlier attempt of the same rows is still running on the server (the client timed out, the
 * server did not), ClickHouse refuses the second one with QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING
 * instead of storing the rows twice, and the caller's retry finds them stored.
 */
export class ClickHouseStore extends AnalyticsStore {
  readonly kind = 'clickhouse';
  private writeQueue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly client: ClickHouseClient,
    private readonly settings: { url: URL; database: string; requestTimeoutMs: number },
  ) {
    super();
  }

  /**
   * `url` is the HTTP interface, e.g. `http://default:@127.0.0.1:8123/bulwark`: credentials in the
   * user-info part, the database in the path (`default` when there is none). `migrate()` creates
   * the database if it is missing.
   */
  static open(url: string, options: ClickHouseStoreOptions = {}): Promise<ClickHouseStore> {
    // Inside the executor, a bad URL becomes a rejection like any other open() failure.
    return new Promise((resolve) => resolve(ClickHouseStore.create(url, options)));
  }

  private static create(url: string, options: ClickHouseStoreOptions): ClickHouseStore {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`CLICKHOUSE_URL must be http(s), got ${parsed.protocol}`);
    }
    const fromPath = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, ''));
    const database = options.database ?? (fromPath === '' ? 'default' : fromPath);
    if (!isIdentifier(database)) {
      throw new TypeError(`ClickHouse database must be a plain identifier, got ${database}`);
    }
    // The client would read the path as the database too; it is passed explicitly instead so
    // that the bootstrap client in migrate() can use the same URL with another database.
    parsed.pathname = '/';
    const settings = {
      url: parsed,
      database,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
    };
    return new ClickHouseStore(connect(settings, database), settings);
  }

  /** The database this store reads and writes. */
  get database(): string {
    return this.settings.database;
  }

  async migrate(): Promise<void> {
    // The main client names the database in every request, which fails while it does not exist:
    // create it through a client bound to `default`.
    const bootstrap = connect(this.settings, 'default');
    try {
      await bootstrap.command({
        query: sql`CREATE DATABASE IF NOT EXISTS ${identifier(this.settings.database)}`.text,
      });
    } finally {
      await bootstrap.close();
    }
    await this.command(
      sql`CREATE TABLE IF NOT EXISTS bulwark_schema (version UInt32, applied_at DateTime DEFAULT now())
          ENGINE = MergeTree() ORDER BY version`,
    );
    const [row] = await this.select<{ v: number | string }>(
      sql`SELECT max(version) AS v FROM bulwark_schema`,
    );
    const current = Number(row?.v ?? 0);
    for (let v = current; v < MIGRATIONS.length; v++) {
      for (const statement of MIGRATIONS[v]) await this.command(statement);
      await this.command(sql`INSERT INTO bulwark_schema (version) VALUES (${v + 1})`);
    }
  }

  insertDecisions(batch: readonly DecisionRecord[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    // One batch at a time: the existence check and the insert of one batch must not interleave
    // with another batch's, or both could find an id missing and write it twice.
    const run = this.writeQueue.then(() => this.insertNow(batch));
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  private async insertNow(batch: readonly DecisionRecord[]): Promise<void> {
    // Map rows first: an invalid number fails the batch before anything is written.
    const unique = new Map<string, DecisionRecord>();
    for (const d of batch) if (!unique.has(d.id)) unique.set(d.id, d);
    const rows = [...unique.values()].map(toClickHouseRow);
    const stored = await this.storedIds(rows);
    const missing = rows.filter((r) => !stored.has(r.id));
    if (missing.length === 0) return;
    await this.client.insert({
      table: 'decisions',
      format: 'JSONEachRow',
      columns: [...COLUMNS],
      values: missing,
      query_id: insertQueryId(
        this.settings.database,
        missing.map((r) => r.id),
      ),
    });
  }

  /**
   * Which of the rows' ids are stored. Lookups are narrowed by the rows' sites and time range
   * (the table's sorting and partition keys), which is exact because an id always comes back with
   * the same record: a retry sends the same decision again.
   *
   * A batch usually covers a few seconds, so first all ids stored in its sites and time range are
   * fetched, up to a cap, and compared here: one cheap query. Parsing a long `id IN (...)` list
   * costs 18.16 about 10 ms per 1000 ids, so that is only the fallback for wide ranges (a batch
   * that mixes old retries with new decisions, or a busy range) and for batches with many sites.
   */
  private async storedIds(rows: readonly IdSiteTime[]): Promise<Set<string>> {
    const wanted = new Set(rows.map((r) => r.id));
    const { sites, min, max } = extent(rows);
    const sitesCost = sites.reduce((sum, site) => sum + listCost(site), 0);
    if (sitesCost <= MAX_LIST_CHARS) {
      const cap = Math.max(RANGE_LOOKUP_MIN, RANGE_LOOKUP_FACTOR * rows.length);
      const inRange = await this.select<{ id: string }>(
        sql`SELECT id FROM decisions
            WHERE site_id IN ${tuple(sites)} AND ts_ms >= ${min} AND ts_ms <= ${max}
            LIMIT ${cap + 1}`,
      );
      if (inRange.length <= cap) {
        return new Set(inRange.map((r) => r.id).filter((id) => wanted.has(id)));
      }
    }
    const found = new Set<string>();
    for (const chunk of chunkByLength(rows, (r) => listCost(r.id) + listCost(r.site_id))) {
      const part = extent(chunk);
      const result = await this.select<{ id: string }>(
        sql`SELECT DISTINCT id FROM decisions
            WHERE site_id IN ${tuple(part.sites)} AND ts_ms >= ${part.min} AND ts_ms <= ${part.max}
              AND id IN ${tuple(chunk.map((r) => r.id))}`,
      );
      for (const r of result) found.add(r.id);
    }
    return found;
  }

  async listDecisions(filter: DecisionFilter): Promise<DecisionRecord[]> {
    // Same filter semantics as the DuckDB adapter: empty strings mean "no filter".
    const where = [sql`site_id = ${filter.siteId}`];
    if (filter.conclusion) where.push(sql`conclusion = ${filter.conclusion}`);
    if (filter.ip) where.push(sql`ip = ${filter.ip}`);
    // startsWith compares bytes: '%' and '_' in the prefix are literal, unlike in LIKE.
    if (filter.pathPrefix) where.push(sql`startsWith(path, ${filter.pathPrefix})`);
    if (filter.ruleId) {
      where.push(sql`(rule_id = ${filter.ruleId} OR has(dry_run_denials, ${filter.ruleId}))`);
    }
    if (filter.fromMs !== undefined) where.push(sql`ts_ms >= ${integer(filter.fromMs)}`);
    if (filter.toMs !== undefined) where.push(sql`ts_ms < ${integer(filter.toMs)}`);
    if (filter.beforeId) where.push(sql`id < ${filter.beforeId}`);
    // LIMIT 1 BY id reads an id once even while a duplicate is not merged away yet.
    const rows = await this.select<StoredRow>(
      sql`SELECT ${SELECT_COLUMNS} FROM decisions WHERE ${joinSql(where, ' AND ')}
          ORDER BY id DESC LIMIT 1 BY id LIMIT ${integer(filter.limit, 0)}`,
    );
    return rows.map(fromRow);
  }

  async getDecision(id: string): Promise<DecisionRecord | null> {
    const [row] = await this.select<StoredRow>(
      sql`SELECT ${SELECT_COLUMNS} FROM decisions WHERE id = ${id} LIMIT 1`,
    );
    return row ? fromRow(row) : null;
  }

  /** Raw rows, not FINAL: a duplicate that has not been merged yet must show in `rows`. */
  async countByIds(ids: readonly string[]): Promise<{ distinct: number; rows: number }> {
    const unique = [...new Set(ids)];
    let distinct = 0;
    let rows = 0;
    // Each id is in one chunk only, so the per-chunk distinct counts add up.
    for (const chunk of chunkByLength(unique, listCost)) {
      const [row] = await this.select<{ d: number | string; n: number | string }>(
        sql`SELECT uniqExact(id) AS d, count() AS n FROM decisions WHERE id IN ${tuple(chunk)}`,
      );
      distinct += Number(row?.d ?? 0);
      rows += Number(row?.n ?? 0);
    }
    return { distinct, rows };
  }

  async trafficSummary(c: Comparison, top: TrafficTop): Promise<TrafficSummary> {
    const recent = inRange({ siteId: c.siteId, fromMs: c.fromMs, toMs: c.toMs });
    const from = integer(c.fromMs);
    const [reasons, paths, ips] = await Promise.all([
      this.select<ReasonRow>(
        sql`SELECT reason, sumIf(n, ts >= ${from}) AS requests,
                   sumIf(n, ts >= ${from} AND conclusion = 'DENY') AS denials,
                   sumIf(n, ts < ${from}) AS prev_requests,
                   sumIf(n, ts < ${from} AND conclusion = 'DENY') AS prev_denials
              FROM ${comparisonRows(c)} GROUP BY reason`,
      ),
      top.paths === 0
        ? []
        : this.select<{ path: string; requests: string; denials: string }>(
            sql`SELECT path, count() AS requests, countIf(conclusion = 'DENY') AS denials
                  FROM decisions WHERE ${recent}
                 GROUP BY path ORDER BY requests DESC, path LIMIT ${integer(top.paths, 0)}`,
          ),
      top.ips === 0
        ? []
        : this.select<{
            ip: string;
            requests: string;
            denials: string;
            country: string;
            asn: string | number;
            network_type: string;
          }>(
            sql`SELECT ip, count() AS requests, countIf(conclusion = 'DENY') AS denials,
                   any(country) AS country, any(asn) AS asn, any(network_type) AS network_type
              FROM decisions WHERE ${recent}
             GROUP BY ip ORDER BY requests DESC, ip LIMIT ${integer(top.ips, 0)}`,
          ),
    ]);
    return toTrafficSummary(reasons, paths, ips, top.reasons);
  }

  async dryRunImpacts(
    siteId: string,
    toMs: number,
    rules: readonly DryRunWindow[],
    limit: number,
  ): Promise<DryRunImpact[]> {
    if (rules.length === 0) return [];
    const starts = windowStarts(rules).map((ms) => integer(ms));
    const counted = windowCounts(rules);
    const window = inRange({ siteId, fromMs: starts[0], toMs });
    const ids = rules.map((r) => r.ruleId);
    const since = sql`${rules.map((r) => integer(r.fromMs))}[indexOf(${ids}, rule)]`;
    // One row per (decision, rule it would have denied), kept only inside that rule's window.
    const hits = sql`FROM decisions ARRAY JOIN dry_run_denials AS rule
      WHERE ${window} AND rule IN ${tuple(ids)} AND ts_ms >= ${since}`;
    const rolledUpHits = fromRollup(
      DRY_RUN,
      { siteId },
      [...starts, toMs],
      sql`rule IN ${tuple(ids)}`,
    );
    // The IPs that may count as likely legitimate: every hour that the window touches, whole,
    // from the rollup. A superset is enough, as it only narrows the denials looked up.
    const candidates = sql`(SELECT legit_ip FROM ${identifier(DRY_RUN.table)}
      WHERE site_id = ${siteId} AND hour >= ${floorHour(starts[0])} AND hour < ${integer(toMs)}
        AND rule IN ${tuple(ids)} AND legit_ip != '')`;
    const top = (column: 'ip' | 'path', extra: Sql) =>
      sql`SELECT rule, ${identifier(column)}, count() AS count${extra} ${hits}
            AND conclusion = 'ALLOW'
          GROUP BY rule, ${identifier(column)}
          ORDER BY rule, count DESC, ${identifier(column)} LIMIT ${integer(limit, 0)} BY rule`;
    const [evaluated, counts, ips, paths] = await Promise.all([
      this.select<Record<string, string>>(
        sql`SELECT ${joinSql(
          counted.map(
            (c, i) =>
              sql`sumIf(n, ts >= ${integer(c.fromMs)}${c.emailOnly ? sql` AND with_email = 1` : sql``}) AS ${identifier(`e${i}`)}`,
          ),
          ', ',
        )} FROM ${fromRollup(HOURLY, { siteId }, [...starts, toMs])}`,
      ),
      // An IP counts against "likely legitimate" only if a LIVE rule denied it inside the rule's
      // own window: its last denial in the widest window is compared with the rule's start (a
      // whole hour's start stands for its denials, exact against any bound). No match leaves
      // last_denied at 0, before every window. Only the few IPs the dry-run rollup kept
      // (legit_ip) are looked up in the denial rollup.
      this.select<DryRunCountRow>(
        sql`SELECT rule, sumIf(n, conclusion = 'ALLOW') AS would_deny,
                   sumIf(n, conclusion = 'DENY') AS also_denied,
                   sumIf(n, legit_ip != '' AND last_denied < since) AS likely_legit
              FROM (
                SELECT rule, conclusion, legit_ip, n, ${since} AS since FROM ${rolledUpHits}
                 WHERE ts >= since
              ) ANY LEFT JOIN (
                SELECT ip AS legit_ip, max(ts) AS last_denied
                  FROM ${fromRollup(
                    DENIED,
                    { siteId },
                    [...starts, toMs],
                    sql`ip IN ${candidates}`,
                  )}
                 GROUP BY legit_ip
              ) USING legit_ip
             GROUP BY rule`,
      ),
      limit === 0
        ? []
        : this.select<IpCountRow & { rule: string }>(
            top('ip', sql`, any(country) AS country, any(network_type) AS network_type`),
          ),
      limit === 0 ? [] : this.select<PathCountRow & { rule: string }>(top('path', sql``)),
    ]);
    return toDryRunImpacts(rules, evaluated[0], counts, ips, paths);
  }

  async ipActivity(
    range: SiteRange,
    teamId: string,
    ip: string,
    limit: number,
  ): Promise<IpActivity> {
    const from = integer(range.fromMs);
    const to = integer(range.toMs);
    // PREWHERE names the one selective condition: the rest of a row is read only where the IP
    // matches. Left to itself, 18.16 moves `team_id = ...` there, which every row of the team
    // matches (630 against 160 ms on 10 million rows).
    const [groups, paths] = await Promise.all([
      this.select<IpRuleGroupRow>(
        sql`SELECT site_id, rule_id, dry_run_denials, conclusion, count() AS requests,
                   min(ts_ms) AS first, max(ts_ms) AS last
              FROM decisions PREWHERE ip = ${ip}
             WHERE ${teamSites(teamId, range.fromMs, range.toMs)}
               AND ts_ms >= ${from} AND ts_ms < ${to}
             GROUP BY site_id, rule_id, dry_run_denials, conclusion`,
      ),
      this.select<{ path: string; count: string }>(
        sql`SELECT path, count() AS count FROM decisions PREWHERE ip = ${ip}
             WHERE ${inRange(range)}
             GROUP BY path ORDER BY count DESC, path LIMIT ${integer(limit, 0)}`,
      ),
    ]);
    return toIpActivity(range.siteId, groups, paths, limit);
  }

  async teamUsage(
    teamId: string,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<{ requests: number; bySite: { siteId: string; requests: number }[] }> {
    const rows = await this.select<{ site_id: string; requests: string }>(
      sql`SELECT site_id, sum(n) AS requests FROM ${fromRollup(HOURLY, { teamId }, [fromMs, toMs])}
           GROUP BY site_id ORDER BY requests DESC, site_id`,
    );
    return toTeamUsage(rows, limit);
  }

  async hourly(c: Comparison): Promise<Record<'recent' | 'previous', HourCount[]>> {
    return toPeriodHours(
      await this.select<{ recent: number; hour: string; requests: string; denials: string }>(
        sql`SELECT ts >= ${integer(c.fromMs)} AS recent,
                   intDiv(ts, ${HOUR_MS}) * ${HOUR_MS} AS hour, sum(n) AS requests,
                   sumIf(n, conclusion = 'DENY') AS denials
              FROM ${comparisonRows(c)} GROUP BY recent, hour`,
      ),
    );
  }

  async countries(c: Comparison): Promise<Record<'recent' | 'previous', CountryCount[]>> {
    return toPeriodCountries(
      await this.select<{ country: string; recent: string; previous: string }>(
        sql`SELECT country, sumIf(n, ts >= ${integer(c.fromMs)}) AS recent,
                   sumIf(n, ts < ${integer(c.fromMs)}) AS previous
              FROM ${comparisonRows(c)} GROUP BY country`,
      ),
    );
  }

  async newBotSignatures(
    c: Comparison,
    minRequests: number,
    limit: number,
  ): Promise<NewBotSignature[]> {
    const bots = (fromMs: number, toMs: number) =>
      fromRollup(BOTS, { siteId: c.siteId }, [fromMs, toMs]);
    // The aggregate needs its own alias: 18.16 would read `bot_category` in WHERE as the aggregate.
    const rows = await this.select<{ user_agent: string; category: string; requests: string }>(
      sql`SELECT user_agent, any(bot_category) AS category, sum(n) AS requests
            FROM ${bots(c.fromMs, c.toMs)}
           WHERE user_agent NOT IN (SELECT user_agent FROM ${bots(c.previousFromMs, c.fromMs)})
           GROUP BY user_agent HAVING sum(n) >= ${integer(minRequests, 0)}
           ORDER BY requests DESC, user_agent LIMIT ${integer(limit, 0)}`,
    );
    return rows.map((r) => ({
      userAgent: r.user_agent,
      botCategory: r.category,
      requests: Number(r.requests),
    }));
  }

  async newIps(
    c: Comparison,
    minRequests: number,
    minDenied: number,
    limit: number,
  ): Promise<NewIp[]> {
    const recent = inRange({ siteId: c.siteId, fromMs: c.fromMs, toMs: c.toMs });
    const previous = inRange({ siteId: c.siteId, fromMs: c.previousFromMs, toMs: c.fromMs });
    const rows = await this.select<{
      ip: string;
      requests: string;
      denials: string;
      country: string;
      network_type: string;
    }>(
      sql`SELECT ip, count() AS requests, countIf(conclusion = 'DENY') AS denials,
                 any(country) AS country, any(network_type) AS network_type
            FROM decisions WHERE ${recent}
             AND ip NOT IN (SELECT ip FROM decisions WHERE ${previous})
           GROUP BY ip
          HAVING count() >= ${integer(minRequests, 0)}
              OR (count() >= ${integer(minDenied, 0)} AND 2 * countIf(conclusion = 'DENY') >= count())
           ORDER BY requests DESC, ip LIMIT ${integer(limit, 0)}`,
    );
    return toNewIps(rows);
  }

  async deniedNetworks(
    range: SiteRange,
    limit: number,
  ): Promise<{ asn: number | null; asOrg: string | null; networkType: string; denials: number }[]> {
    // asn 0 stands for unknown and sorts last, like NULLS LAST in the DuckDB adapter.
    const rows = await this.select<{ asn: string; org: string; type: string; denials: string }>(
      sql`SELECT asn, any(as_org) AS org, any(network_type) AS type, sum(n) AS denials
            FROM ${fromRollup(HOURLY, range, [range.fromMs, range.toMs], sql`conclusion = 'DENY'`)}
           GROUP BY asn ORDER BY denials DESC, asn = 0, asn LIMIT ${integer(limit, 0)}`,
    );
    return rows.map((r) => ({
      asn: Number(r.asn) === 0 ? null : Number(r.asn),
      asOrg: r.org || null,
      networkType: r.type,
      denials: Number(r.denials),
    }));
  }

  /**
   * Runs a fixed SQL text: for `npm run bench` only, which compares the analyses with
   * hand-written queries. Never pass request data here.
   */
  async benchmarkQuery(text: string): Promise<unknown[]> {
    const result = await this.client.query({ query: text, format: 'JSONEachRow' });
    return result.json();
  }

  /** False when the server does not answer a query on this database (down, auth, no database). */
  async ping(): Promise<boolean> {
    try {
      const [row] = await this.select<{ ok: number }>(sql`SELECT 1 AS ok`);
      return row?.ok === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await this.writeQueue;
    await this.client.close();
  }

  private async select<T>(query: Sql): Promise<T[]> {
    const result = await this.client.query({ query: query.text, format: 'JSONEachRow' });
    return result.json<T>();
  }

  private async command(statement: Sql): Promise<void> {
    await this.client.command({ query: statement.text });
  }
}

function connect(
  settings: { url: URL; requestTimeoutMs: number },
  database: string,
): ClickHouseClient {
  return createClient({
    url: new URL(settings.url),
    database,
    request_timeout: settings.requestTimeoutMs,
    // Every failure reaches the caller as a rejected promise, which logs it once with context;
    // the client's own console logger would print each one again (a stream while the server
    // is down).
    log: { level: ClickHouseLogLevel.OFF },
  });
}

/**
 * Same database and ids, same query_id: see the class comment. Query ids are unique per server,
 * so the database is part of the hash (two databases may well receive the same ids).
 */
function insertQueryId(database: string, ids: readonly string[]): string {
  const hash = createHash('sha256').update(database).update('\n').update(ids.join('\n'));
  return `bulwark-insert-${hash.digest('hex').slice(0, 32)}`;
}

/** The distinct sites and the time range of some rows. */
function extent(rows: readonly IdSiteTime[]): { sites: string[]; min: number; max: number } {
  let min = rows[0].ts_ms;
  let max = min;
  for (const r of rows) {
    if (r.ts_ms < min) min = r.ts_ms;
    if (r.ts_ms > max) max = r.ts_ms;
  }
  return { sites: [...new Set(rows.map((r) => r.site_id))], min, max };
}

/** Characters a value takes in a rendered list: the quoted literal and its ', ' separator. */
const listCost = (value: string): number => quoteString(value).length + 2;

/** Splits a list so that each piece renders to at most MAX_LIST_CHARS of query text. */
function chunkByLength<T>(items: readonly T[], costOf: (item: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const cost = costOf(item);
    if (current.length > 0 && size + cost > MAX_LIST_CHARS) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += cost;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** The rollup rows of both ranges of a comparison (see fromRollup). */
function comparisonRows(c: Comparison): Sql {
  return fromRollup(HOURLY, c, [c.previousFromMs, c.fromMs, c.toMs]);
}

/** The rows of one site in [fromMs, toMs): a prefix of the sorting key, so only its parts are read. */
function inRange(range: SiteRange): Sql {
  return sql`site_id = ${range.siteId} AND ts_ms >= ${integer(range.fromMs)} AND ts_ms < ${integer(range.toMs)}`;
}

/** Whose decisions a rollup read covers: one site, or every site of one team. */
type Scope = { siteId: string } | { teamId: string };

/**
 * The decisions of `scope` in [bounds[0], bounds[last]) as the rollup's columns plus `ts` and
 * `n`, to aggregate with sum(n) and sumIf(n, ...): whole hours come from the rollup (ts is the
 * hour's start, n its count), and the hours that a bound cuts through from `decisions` (ts is the
 * decision's time, n is 1). Every hour read from the rollup lies between two consecutive bounds,
 * so a condition on ts against any bound (`ts >= from`) is exact for it, as it is for a raw row.
 * `where` filters both sides and may name only the columns they share.
 */
function fromRollup(
  rollup: Rollup,
  scope: Scope,
  bounds: readonly number[],
  where: Sql = sql`1`,
): Sql {
  const from = integer(bounds[0]);
  const to = integer(bounds[bounds.length - 1]);
  const hours = splitHours(bounds);
  const who = 'teamId' in scope ? sql`team_id = ${scope.teamId}` : sql`site_id = ${scope.siteId}`;
  // A team's raw rows are read through its sites, by the sorting key.
  const rawWho = 'teamId' in scope ? teamSites(scope.teamId, from, to) : who;
  return sql`(
    SELECT ${rollup.columns}, hour AS ts, requests AS n FROM ${identifier(rollup.table)}
     WHERE ${who} AND ${hours.whole} AND ${where}
    UNION ALL
    SELECT ${rollup.raw}, ts_ms AS ts, toUInt64(1) AS n FROM ${rollup.rawFrom ?? sql`decisions`}
     WHERE ${rawWho} AND ${hours.cut} AND ${rollup.counts ?? sql`1`} AND ${where}
  )`;
}

/**
 * [bounds[0], bounds[last]) split by hour: `whole` selects the rollup hours that lie entirely
 * inside it and contain no bound (a condition on `hour`), `cut` the raw rows of the hours a bound
 * cuts through (a condition on `ts_ms`). Every whole hour lies between two consecutive bounds, so
 * a condition on its start against any bound is exact for all its decisions.
 */
function splitHours(bounds: readonly number[]): { whole: Sql; cut: Sql } {
  const from = integer(bounds[0]);
  const to = integer(bounds[bounds.length - 1]);
  const cut = [...new Set(bounds.filter((b) => b % HOUR_MS !== 0).map(floorHour))];
  const notCut = cut.length === 0 ? sql`1` : sql`hour NOT IN ${tuple(cut)}`;
  const cutHours =
    cut.length === 0
      ? sql`0`
      : joinSql(
          cut.map((h) => sql`(ts_ms >= ${integer(h)} AND ts_ms < ${integer(h + HOUR_MS)})`),
          ' OR ',
        );
  return {
    whole: sql`hour >= ${floorHour(bounds[0])} AND hour < ${to} AND ${notCut}`,
    cut: sql`ts_ms >= ${from} AND ts_ms < ${to} AND (${cutHours})`,
  };
}

/**
 * A team's rows in `decisions`, found through the sites that have rows in the rollup in
 * [fromMs, toMs): `decisions` is sorted by site, not team, so this reads the team's sites only
 * instead of every tenant's rows in the range.
 */
function teamSites(teamId: string, fromMs: number, toMs: number): Sql {
  return sql`team_id = ${teamId} AND site_id IN (
    SELECT site_id FROM decisions_hourly
     WHERE team_id = ${teamId} AND hour >= ${integer(floorHour(fromMs))}
       AND hour < ${integer(toMs)})`;
}

/** The start of the UTC hour that holds `ms`. */
const floorHour = (ms: number): number => ms - (ms % HOUR_MS);
