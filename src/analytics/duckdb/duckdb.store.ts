import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { DuckDBConnection, DuckDBInstance, DuckDBValue, listValue } from '@duckdb/node-api';
import {
  AnalyticsStore,
  Comparison,
  CountryCount,
  DecisionFilter,
  DecisionRecord,
  DryRunImpact,
  DryRunWindow,
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
} from '../rows';

/** Migrations in order; the index + 1 is the version recorded in `bulwark_schema`. */
const MIGRATIONS = [
  `CREATE TABLE decisions (
     id VARCHAR NOT NULL,
     site_id VARCHAR NOT NULL,
     team_id VARCHAR NOT NULL,
     ts_ms BIGINT NOT NULL,
     ip VARCHAR NOT NULL,
     method VARCHAR NOT NULL,
     protocol VARCHAR NOT NULL,
     host VARCHAR NOT NULL,
     path VARCHAR NOT NULL,
     query VARCHAR NOT NULL,
     user_agent VARCHAR NOT NULL,
     headers VARCHAR NOT NULL,
     email VARCHAR,
     country VARCHAR,
     asn BIGINT,
     as_org VARCHAR,
     network_type VARCHAR NOT NULL,
     bot_category VARCHAR,
     conclusion VARCHAR NOT NULL,
     reason VARCHAR NOT NULL,
     rule_id VARCHAR,
     results VARCHAR NOT NULL,
     dry_run_denials VARCHAR[] NOT NULL
   );`,
];

const COLUMNS =
  'id, site_id, team_id, ts_ms, ip, method, protocol, host, path, query, user_agent, headers, email, country, asn, as_org, network_type, bot_category, conclusion, reason, rule_id, results, dry_run_denials';

/**
 * The embedded analytics store: one DuckDB file in DATA_DIR. Values reach SQL only as bound
 * parameters.
 *
 * There is deliberately no primary key: DuckDB maintains it as an ART index that cut ingest
 * several-fold (measured). Idempotency comes from a check before each insert instead: ids are
 * time-ordered TypeIDs inserted in roughly that order, so `id BETWEEN min AND max` touches only
 * the newest row groups (zone maps) and the check stays cheap however large the table grows.
 */
export class DuckDbStore extends AnalyticsStore {
  readonly kind = 'duckdb';
  private writeQueue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly writer: DuckDBConnection,
    private readonly readers: ReaderPool,
  ) {
    super();
  }

  /** `path` is a file, or `:memory:` for a throw-away store. */
  static async open(path: string): Promise<DuckDbStore> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    // DuckDB shares the machine with the decide path: left to take every core, its inserts
    // starved the event loop and tripled the decide p99 on two cores (measured).
    const threads = String(Math.max(1, availableParallelism() - 1));
    const instance = await DuckDBInstance.create(path, { threads });
    // Analyses issue their queries together (Promise.all); one connection runs one query at a
    // time, so they get a connection each, up to one per core: on two cores that halved a
    // briefing (measured), while the single engine thread keeps inserts off the second core.
    const readers = await Promise.all(
      Array.from({ length: Math.max(2, availableParallelism()) }, () => instance.connect()),
    );
    return new DuckDbStore(instance, await instance.connect(), new ReaderPool(readers));
  }

  async migrate(): Promise<void> {
    await this.writer.run('CREATE TABLE IF NOT EXISTS bulwark_schema (version INTEGER NOT NULL)');
    const rows = (
      await this.writer.runAndReadAll('SELECT max(version) AS v FROM bulwark_schema')
    ).getRowObjectsJS();
    const current = Number(rows[0]?.v ?? 0);
    for (let v = current; v < MIGRATIONS.length; v++) {
      await this.writer.run('BEGIN TRANSACTION');
      try {
        await this.writer.run(MIGRATIONS[v]);
        await this.writer.run('INSERT INTO bulwark_schema VALUES ($1)', [v + 1]);
        await this.writer.run('COMMIT');
      } catch (error) {
        await this.writer.run('ROLLBACK');
        throw error;
      }
    }
  }

  insertDecisions(batch: readonly DecisionRecord[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    // One writer at a time: the staging table is shared.
    const run = this.writeQueue.then(() => this.insertNow(batch));
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  private async insertNow(batch: readonly DecisionRecord[]): Promise<void> {
    const fresh = await this.unstored(batch);
    if (fresh.length === 0) return;
    // The batch travels as one JSON parameter and DuckDB unpacks it on its own threads: the
    // event loop only serialises it (about 2 µs a row), where the appender's synchronous flush
    // held the event loop for the whole insert (measured).
    await this.writer.run(INSERT_JSON, [JSON.stringify(fresh.map(toJsonRow))]);
  }

  /** The records of the batch whose ids are not stored yet, each id once. */
  private async unstored(batch: readonly DecisionRecord[]): Promise<DecisionRecord[]> {
    const unique = new Map(batch.map((d) => [d.id, d]));
    let min = '\uffff';
    let max = '';
    for (const id of unique.keys()) {
      if (id < min) min = id;
      if (id > max) max = id;
    }
    // Only the range is filtered in SQL (zone maps make it cheap); a list filter on top measured
    // several times slower than comparing the few ids it returns here.
    const reader = await this.writer.runAndReadAll(
      'SELECT id FROM decisions WHERE id BETWEEN $1 AND $2',
      [min, max],
    );
    for (const [id] of reader.getRowsJS()) unique.delete(id as string);
    return [...unique.values()];
  }

  async listDecisions(filter: DecisionFilter): Promise<DecisionRecord[]> {
    const where = ['site_id = $site'];
    const values: Record<string, DuckDBValue> = { site: filter.siteId, limit: filter.limit };
    if (filter.conclusion) {
      where.push('conclusion = $conclusion');
      values.conclusion = filter.conclusion;
    }
    if (filter.ip) {
      where.push('ip = $ip');
      values.ip = filter.ip;
    }
    if (filter.pathPrefix) {
      where.push('starts_with(path, $pathPrefix)');
      values.pathPrefix = filter.pathPrefix;
    }
    if (filter.ruleId) {
      where.push('(rule_id = $rule OR list_contains(dry_run_denials, $rule))');
      values.rule = filter.ruleId;
    }
    if (filter.fromMs !== undefined) {
      where.push('ts_ms >= $from');
      values.from = BigInt(filter.fromMs);
    }
    if (filter.toMs !== undefined) {
      where.push('ts_ms < $to');
      values.to = BigInt(filter.toMs);
    }
    if (filter.beforeId) {
      where.push('id < $before');
      values.before = filter.beforeId;
    }
    const rows = await this.rows<StoredRow>(
      `SELECT ${COLUMNS} FROM decisions WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $limit`,
      values,
    );
    return rows.map(fromRow);
  }

  async getDecision(id: string): Promise<DecisionRecord | null> {
    const [row] = await this.rows<StoredRow>(`SELECT ${COLUMNS} FROM decisions WHERE id = $id`, {
      id,
    });
    return row ? fromRow(row) : null;
  }

  async countByIds(ids: readonly string[]): Promise<{ distinct: number; rows: number }> {
    if (ids.length === 0) return { distinct: 0, rows: 0 };
    const [row] = await this.rows<{ d: bigint; n: bigint }>(
      'SELECT count(DISTINCT id) AS d, count(*) AS n FROM decisions WHERE list_contains($ids, id)',
      { ids: listValue([...ids]) },
    );
    return { distinct: Number(row.d), rows: Number(row.n) };
  }

  async trafficSummary(c: Comparison, top: TrafficTop): Promise<TrafficSummary> {
    const recent = rangeParams({ siteId: c.siteId, fromMs: c.fromMs, toMs: c.toMs });
    const denials = `count(*) FILTER (WHERE conclusion = 'DENY')`;
    const [reasons, paths, ips] = await Promise.all([
      this.rows<ReasonRow>(
        `SELECT reason, count(*) FILTER (WHERE ts_ms >= $from) AS requests,
                count(*) FILTER (WHERE ts_ms >= $from AND conclusion = 'DENY') AS denials,
                count(*) FILTER (WHERE ts_ms < $from) AS prev_requests,
                count(*) FILTER (WHERE ts_ms < $from AND conclusion = 'DENY') AS prev_denials
           FROM decisions WHERE ${BOTH_RANGES} GROUP BY reason`,
        comparisonParams(c),
      ),
      top.paths === 0
        ? []
        : this.rows<{ path: string; requests: bigint; denials: bigint }>(
            `SELECT path, count(*) AS requests, ${denials} AS denials FROM decisions
              WHERE ${IN_RANGE} GROUP BY path ORDER BY requests DESC, path LIMIT $limit`,
            { ...recent, limit: top.paths },
          ),
      top.ips === 0
        ? []
        : this.rows<{
            ip: string;
            requests: bigint;
            denials: bigint;
            country: string | null;
            asn: bigint | null;
            network_type: string;
          }>(
            `SELECT ip, count(*) AS requests, ${denials} AS denials, any_value(country) AS country,
                any_value(asn) AS asn, any_value(network_type) AS network_type
           FROM decisions WHERE ${IN_RANGE} GROUP BY ip ORDER BY requests DESC, ip LIMIT $limit`,
            { ...recent, limit: top.ips },
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
    const counted = windowCounts(rules);
    const window = rangeParams({ siteId, fromMs: counted[0].fromMs, toMs });
    const hitParams = {
      ...window,
      rules: listValue(rules.map((r) => r.ruleId)),
      since: listValue(rules.map((r) => BigInt(r.fromMs))),
    };
    // One row per (decision, rule it would have denied), kept only inside that rule's window.
    const hits = `WITH w AS (
        SELECT unnest($rules::VARCHAR[]) AS rule, unnest($since::BIGINT[]) AS since
      ), hits AS (
        SELECT rule, ip, path, country, network_type, bot_category, conclusion, since
          FROM (SELECT unnest(dry_run_denials) AS rule, ip, path, country, network_type,
                       bot_category, conclusion, ts_ms
                  FROM decisions WHERE ${IN_RANGE} AND len(dry_run_denials) > 0) d
          JOIN w USING (rule)
         WHERE d.ts_ms >= w.since
      )`;
    const top = (column: 'ip' | 'path', extra: string) =>
      `${hits} SELECT rule, ${column}, count(*) AS count${extra} FROM hits
        WHERE conclusion = 'ALLOW' GROUP BY rule, ${column}
      QUALIFY row_number() OVER (PARTITION BY rule ORDER BY count(*) DESC, ${column}) <= $limit
        ORDER BY rule, count DESC, ${column}`;
    const [evaluated, counts, ips, paths] = await Promise.all([
      // Every window count in one pass. `email <> ''` is false for NULL too (see emailOnly); as a
      // CASE it added about 40 ms to this statement on 10M rows, as a FILTER about 100 (measured).
      this.rows<Record<string, bigint | null>>(
        `SELECT ${counted
          .map((c, i) =>
            c.emailOnly
              ? `sum(CASE WHEN ts_ms >= $s${i} AND email <> '' THEN 1 ELSE 0 END) AS e${i}`
              : `count(*) FILTER (WHERE ts_ms >= $s${i}) AS e${i}`,
          )
          .join(', ')}
           FROM decisions WHERE ${IN_RANGE}`,
        { ...window, ...Object.fromEntries(counted.map((c, i) => [`s${i}`, BigInt(c.fromMs)])) },
      ),
      // An IP counts against "likely legitimate" only if a LIVE rule denied it inside the rule's
      // own window: its last denial in the widest window is compared with the rule's start.
      this.rows<DryRunCountRow>(
        `${hits} SELECT rule, count(*) FILTER (WHERE conclusion = 'ALLOW') AS would_deny,
                count(*) FILTER (WHERE conclusion = 'DENY') AS also_denied,
                count(*) FILTER (WHERE conclusion = 'ALLOW' AND network_type = 'residential'
                  AND bot_category IS NULL AND coalesce(last_denied, -1) < since) AS likely_legit
           FROM hits LEFT JOIN (
             SELECT ip, max(ts_ms) AS last_denied FROM decisions
              WHERE ${IN_RANGE} AND conclusion = 'DENY' GROUP BY ip
           ) denied USING (ip)
          GROUP BY rule`,
        hitParams,
      ),
      limit === 0
        ? []
        : this.rows<IpCountRow & { rule: string }>(
            top('ip', ', any_value(country) AS country, any_value(network_type) AS network_type'),
            { ...hitParams, limit },
          ),
      limit === 0
        ? []
        : this.rows<PathCountRow & { rule: string }>(top('path', ''), { ...hitParams, limit }),
    ]);
    return toDryRunImpacts(rules, evaluated[0], counts, ips, paths);
  }

  async ipActivity(
    range: SiteRange,
    teamId: string,
    ip: string,
    limit: number,
  ): Promise<IpActivity> {
    // One scan: the client's rows across the team are found once (DuckDB has no index on ip,
    // so every read of them is a scan of the range) and both groupings read the CTE. Rows with
    // a path are the site's top paths; the others are the groups.
    const rows = await this.rows<IpRuleGroupRow & { path: string | null }>(
      `WITH client AS MATERIALIZED (
         SELECT site_id, rule_id, dry_run_denials, conclusion, path, ts_ms FROM decisions
          WHERE team_id = $team AND ip = $ip AND ts_ms >= $from AND ts_ms < $to
       )
       SELECT site_id, rule_id, dry_run_denials, conclusion, NULL AS path,
              count(*) AS requests, min(ts_ms) AS first, max(ts_ms) AS last
         FROM client GROUP BY site_id, rule_id, dry_run_denials, conclusion
       UNION ALL
       SELECT * FROM (
         SELECT NULL, NULL, NULL, NULL, path, count(*) AS requests, NULL, NULL
           FROM client WHERE site_id = $site
          GROUP BY path ORDER BY requests DESC, path LIMIT $limit
       )`,
      { ...rangeParams(range), ip, team: teamId, limit },
    );
    const paths = rows
      .filter((r) => r.path !== null)
      .map((r) => ({ path: r.path as string, count: r.requests }));
    return toIpActivity(
      range.siteId,
      rows.filter((r) => r.path === null),
      paths,
      limit,
    );
  }

  async teamUsage(
    teamId: string,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<{ requests: number; bySite: { siteId: string; requests: number }[] }> {
    const rows = await this.rows<{ site_id: string; requests: bigint }>(
      `SELECT site_id, count(*) AS requests FROM decisions
        WHERE team_id = $team AND ts_ms >= $from AND ts_ms < $to
        GROUP BY site_id ORDER BY requests DESC, site_id`,
      { team: teamId, from: BigInt(fromMs), to: BigInt(toMs) },
    );
    return toTeamUsage(rows, limit);
  }

  async hourly(c: Comparison): Promise<Record<'recent' | 'previous', HourCount[]>> {
    return toPeriodHours(
      await this.rows<{ recent: boolean; hour: bigint; requests: bigint; denials: bigint }>(
        `SELECT ts_ms >= $from AS recent, (ts_ms // 3600000) * 3600000 AS hour,
                count(*) AS requests, count(*) FILTER (WHERE conclusion = 'DENY') AS denials
           FROM decisions WHERE ${BOTH_RANGES} GROUP BY recent, hour`,
        comparisonParams(c),
      ),
    );
  }

  async countries(c: Comparison): Promise<Record<'recent' | 'previous', CountryCount[]>> {
    return toPeriodCountries(
      await this.rows<{ country: string | null; recent: bigint; previous: bigint }>(
        `SELECT country, count(*) FILTER (WHERE ts_ms >= $from) AS recent,
                count(*) FILTER (WHERE ts_ms < $from) AS previous
           FROM decisions WHERE ${BOTH_RANGES} GROUP BY country`,
        comparisonParams(c),
      ),
    );
  }

  async newBotSignatures(
    c: Comparison,
    minRequests: number,
    limit: number,
  ): Promise<NewBotSignature[]> {
    const rows = await this.rows<{ user_agent: string; bot_category: string; requests: bigint }>(
      `SELECT user_agent, any_value(bot_category) AS bot_category, count(*) AS requests
         FROM decisions WHERE ${IN_RANGE} AND bot_category IS NOT NULL
          AND user_agent NOT IN (SELECT user_agent FROM decisions
                                  WHERE site_id = $site AND ts_ms >= $prev AND ts_ms < $from
                                    AND bot_category IS NOT NULL)
        GROUP BY user_agent HAVING count(*) >= $min
        ORDER BY requests DESC, user_agent LIMIT $limit`,
      { ...comparisonParams(c), min: minRequests, limit },
    );
    return rows.map((r) => ({
      userAgent: r.user_agent,
      botCategory: r.bot_category,
      requests: Number(r.requests),
    }));
  }

  async newIps(
    c: Comparison,
    minRequests: number,
    minDenied: number,
    limit: number,
  ): Promise<NewIp[]> {
    const rows = await this.rows<{
      ip: string;
      requests: bigint;
      denials: bigint;
      country: string | null;
      network_type: string;
    }>(
      `SELECT ip, count(*) AS requests, count(*) FILTER (WHERE conclusion = 'DENY') AS denials,
              any_value(country) AS country, any_value(network_type) AS network_type
         FROM decisions WHERE ${IN_RANGE}
          AND ip NOT IN (SELECT ip FROM decisions
                          WHERE site_id = $site AND ts_ms >= $prev AND ts_ms < $from)
        GROUP BY ip
       HAVING count(*) >= $min OR (count(*) >= $minDenied AND 2 * denials >= count(*))
        ORDER BY requests DESC, ip LIMIT $limit`,
      { ...comparisonParams(c), min: minRequests, minDenied, limit },
    );
    return toNewIps(rows);
  }

  async deniedNetworks(
    range: SiteRange,
    limit: number,
  ): Promise<{ asn: number | null; asOrg: string | null; networkType: string; denials: number }[]> {
    const rows = await this.rows<{
      asn: bigint | null;
      as_org: string | null;
      network_type: string;
      denials: bigint;
    }>(
      `SELECT asn, any_value(as_org) AS as_org, any_value(network_type) AS network_type,
              count(*) AS denials
         FROM decisions WHERE ${IN_RANGE} AND conclusion = 'DENY'
        GROUP BY asn ORDER BY denials DESC, asn NULLS LAST LIMIT $limit`,
      { ...rangeParams(range), limit },
    );
    return rows.map((r) => ({
      asn: r.asn === null ? null : Number(r.asn),
      asOrg: r.as_org || null,
      networkType: r.network_type,
      denials: Number(r.denials),
    }));
  }

  private rows<T>(query: string, values: Record<string, DuckDBValue>): Promise<T[]> {
    return this.readers.use(
      async (reader) =>
        (await reader.runAndReadAll(query, values)).getRowObjectsJS() as unknown as T[],
    );
  }

  /**
   * Runs a fixed SQL text on a read connection: for `npm run bench` only, which compares the
   * analyses with hand-written queries. Never pass request data here.
   */
  benchmarkQuery(text: string): Promise<unknown[]> {
    return this.readers.use(async (reader) => (await reader.runAndReadAll(text)).getRowObjectsJS());
  }

  async ping(): Promise<boolean> {
    await this.readers.use((reader) => reader.run('SELECT 1'));
    return true;
  }

  async close(): Promise<void> {
    await this.writeQueue;
    await this.readers.drain();
    this.writer.closeSync();
    this.readers.close();
    this.instance.closeSync();
  }
}

/** Read connections, each running one query at a time; callers wait for a free one in order. */
class ReaderPool {
  private readonly idle: DuckDBConnection[];
  private readonly waiting: ((connection: DuckDBConnection) => void)[] = [];
  private busy = 0;
  private drained: (() => void) | undefined;

  constructor(private readonly all: DuckDBConnection[]) {
    this.idle = [...all];
  }

  async use<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    let connection = this.idle.pop();
    if (connection) this.busy++;
    // A waiter is handed a connection that stays counted as busy.
    else connection = await new Promise<DuckDBConnection>((r) => this.waiting.push(r));
    try {
      return await work(connection);
    } finally {
      this.release(connection);
    }
  }

  private release(connection: DuckDBConnection): void {
    const next = this.waiting.shift();
    if (next) return next(connection);
    this.busy--;
    this.idle.push(connection);
    if (this.busy === 0) this.drained?.();
  }

  /** Resolves once no query is running or waiting. */
  drain(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  close(): void {
    for (const connection of this.all) connection.closeSync();
  }
}

const IN_RANGE = 'site_id = $site AND ts_ms >= $from AND ts_ms < $to';
/** Both ranges of a comparison ($prev to $to), with comparisonParams. */
const BOTH_RANGES = 'site_id = $site AND ts_ms >= $prev AND ts_ms < $to';
const rangeParams = (r: SiteRange): Record<string, DuckDBValue> => ({
  site: r.siteId,
  from: BigInt(r.fromMs),
  to: BigInt(r.toMs),
});

const comparisonParams = (c: Comparison): Record<string, DuckDBValue> => ({
  site: c.siteId,
  prev: BigInt(c.previousFromMs),
  from: BigInt(c.fromMs),
  to: BigInt(c.toMs),
});

/** Column types for `from_json`, in table order. */
const JSON_SCHEMA = JSON.stringify({
  id: 'VARCHAR',
  site_id: 'VARCHAR',
  team_id: 'VARCHAR',
  ts_ms: 'BIGINT',
  ip: 'VARCHAR',
  method: 'VARCHAR',
  protocol: 'VARCHAR',
  host: 'VARCHAR',
  path: 'VARCHAR',
  query: 'VARCHAR',
  user_agent: 'VARCHAR',
  headers: 'VARCHAR',
  email: 'VARCHAR',
  country: 'VARCHAR',
  asn: 'BIGINT',
  as_org: 'VARCHAR',
  network_type: 'VARCHAR',
  bot_category: 'VARCHAR',
  conclusion: 'VARCHAR',
  reason: 'VARCHAR',
  rule_id: 'VARCHAR',
  results: 'VARCHAR',
  dry_run_denials: 'VARCHAR[]',
});
const INSERT_JSON = `INSERT INTO decisions (${COLUMNS})
  SELECT unnest(from_json($1::JSON, '[${JSON_SCHEMA}]'), recursive := true)`;

function toJsonRow(d: DecisionRecord) {
  return {
    id: d.id,
    site_id: d.siteId,
    team_id: d.teamId,
    ts_ms: d.timeMs,
    ip: d.ip,
    method: d.method,
    protocol: d.protocol,
    host: d.host,
    path: d.path,
    query: d.query,
    user_agent: d.userAgent,
    headers: JSON.stringify(d.headers),
    email: d.email,
    country: d.country,
    asn: d.asn,
    as_org: d.asOrg,
    network_type: d.networkType,
    bot_category: d.botCategory,
    conclusion: d.conclusion,
    reason: d.reason,
    rule_id: d.ruleId,
    results: JSON.stringify(d.results),
    dry_run_denials: d.dryRunDenials,
  };
}
