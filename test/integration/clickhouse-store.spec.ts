import { randomBytes } from 'node:crypto';
import { ClickHouseClient, createClient } from '@clickhouse/client';
import type { DecisionRecord } from '../../src/analytics/analytics.port';
import { rawClientInsert } from '../../src/analytics/clickhouse/clickhouse.bench';
import { ClickHouseStore } from '../../src/analytics/clickhouse/clickhouse.store';
import { COLUMNS, toClickHouseRow } from '../../src/analytics/clickhouse/row';
import { sql } from '../../src/analytics/clickhouse/sql';
import { ClickHouseServer, startClickHouse } from '../support/clickhouse';
import { decision } from '../support/decisions';

/** ClickHouse-specific checks beyond the shared contract suite: escaping, chunking, duplicates. */
describe('ClickHouse store', () => {
  let server: ClickHouseServer;
  let raw: ClickHouseClient;

  beforeAll(async () => {
    server = await startClickHouse();
    raw = createClient({ url: server.url, request_timeout: 10_000 });
  }, 120_000);
  afterAll(async () => {
    await raw?.close();
    await server?.cleanup();
  });

  const freshStore = async (): Promise<ClickHouseStore> => {
    const store = await ClickHouseStore.open(`${server.url}/t_${randomBytes(5).toString('hex')}`);
    await store.migrate();
    return store;
  };

  it('the sql helper renders every string byte for byte, as the server reads it', async () => {
    const strings = [
      Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join(''),
      "'; DROP TABLE decisions; --",
      "\\'; SELECT 1; --",
      "\\\\' OR 1=1 --",
      "\\x27 \\0 \\u0027 \\N \\'",
      '{name:String} {{x}} ${x} %s ? $1',
      '🙂 ünïcödé 中文 עברית \u202e',
      '',
    ];
    for (const s of strings) {
      const result = await raw.query({
        query: sql`SELECT ${s} AS v, hex(${s}) AS h, ${[s, s]} AS a`.text,
        format: 'JSONEachRow',
      });
      const [row] = await result.json<{ v: string; h: string; a: string[] }>();
      expect(row).toEqual({ v: s, h: Buffer.from(s).toString('hex').toUpperCase(), a: [s, s] });
    }
  });

  it('finds hostile values by every filter, and stores a hostile id as data', async () => {
    const store = await freshStore();
    try {
      const evil = "x'); DROP TABLE decisions; --\\\u0000%_";
      const site = `site_${evil}`;
      const target = decision({
        id: `req_${evil}`,
        siteId: site,
        ip: evil,
        path: `/${evil}/tail`,
        ruleId: evil,
        conclusion: 'DENY',
        reason: 'SQL_INJECTION',
      });
      const dry = decision({ siteId: site, dryRunDenials: [evil] });
      const other = decision({ siteId: site, path: '/x', ip: 'x' });
      await store.insertDecisions([target, dry, other]);
      const ids = (list: DecisionRecord[]) => list.map((d) => d.id).sort();
      expect(await store.getDecision(target.id)).toEqual(target);
      expect(ids(await store.listDecisions({ siteId: site, ip: evil, limit: 10 }))).toEqual([
        target.id,
      ]);
      const prefix = await store.listDecisions({ siteId: site, pathPrefix: `/${evil}`, limit: 10 });
      expect(ids(prefix)).toEqual([target.id]);
      const byRule = await store.listDecisions({ siteId: site, ruleId: evil, limit: 10 });
      expect(ids(byRule)).toEqual(ids([target, dry]));
      expect(await store.countByIds([target.id, target.id, evil])).toEqual({
        distinct: 1,
        rows: 1,
      });
      // The table is still there and holds exactly what was written.
      expect(await store.countByIds([target.id, dry.id, other.id])).toEqual({
        distinct: 3,
        rows: 3,
      });
    } finally {
      await store.close();
    }
  });

  it('reads each id once while a duplicate is not merged away, and counts raw rows', async () => {
    const store = await freshStore();
    try {
      const d = decision({ siteId: 'site_dup' });
      await store.insertDecisions([d]);
      // A second copy as a racing writer would leave it, bypassing the existence check.
      await raw.insert({
        table: `${store.database}.decisions`,
        format: 'JSONEachRow',
        columns: [...COLUMNS],
        values: [toClickHouseRow(d)],
      });
      expect(await store.countByIds([d.id])).toEqual({ distinct: 1, rows: 2 });
      expect(await store.getDecision(d.id)).toEqual(d);
      expect(await store.listDecisions({ siteId: 'site_dup', limit: 10 })).toEqual([d]);
      await store.insertDecisions([d]);
      expect(await store.countByIds([d.id])).toEqual({ distinct: 1, rows: 2 });
    } finally {
      await store.close();
    }
  });

  it('upgrading from schema version 1 backfills the rollups, which then count new rows', async () => {
    const store = await freshStore();
    try {
      const team = 'team_rollup';
      const t0 = Date.UTC(2026, 10, 3);
      const site = 'site_rollup';
      const rule = 'rule_rollup';
      // Every third decision is one the DRY_RUN rule would have denied, every fifth a bot's,
      // every seventh denied live (from another IP, but the last from the same).
      const at = (i: number) =>
        decision({
          teamId: team,
          siteId: site,
          timeMs: t0 + i * 600_000,
          dryRunDenials: i % 3 === 0 ? [rule] : [],
          ...(i % 5 === 0 ? { userAgent: 'Bot/1.0', botCategory: 'scraper' } : {}),
          ...(i % 7 === 0
            ? {
                ...(i < 28 ? { ip: '192.0.2.66' } : {}),
                conclusion: 'DENY' as const,
                reason: 'SQL_INJECTION' as const,
              }
            : {}),
        });
      await store.insertDecisions(Array.from({ length: 30 }, (_, i) => at(i)));
      // Back to version 1: no rollups, no views, the rows already stored.
      const db = store.database;
      for (const statement of [
        `DROP TABLE ${db}.denied_hourly_mv`,
        `DROP TABLE ${db}.denied_hourly`,
        `DROP TABLE ${db}.bots_hourly_mv`,
        `DROP TABLE ${db}.bots_hourly`,
        `DROP TABLE ${db}.dry_run_hourly_mv`,
        `DROP TABLE ${db}.dry_run_hourly`,
        `DROP TABLE ${db}.decisions_hourly_mv`,
        `DROP TABLE ${db}.decisions_hourly`,
        `DROP TABLE ${db}.bulwark_schema`,
        `CREATE TABLE ${db}.bulwark_schema (version UInt32, applied_at DateTime DEFAULT now()) ENGINE = MergeTree() ORDER BY version`,
        `INSERT INTO ${db}.bulwark_schema (version) VALUES (1)`,
      ]) {
        await raw.command({ query: statement });
      }
      await store.migrate();
      // Whole hours only: both answers come from the rollups alone.
      const to = t0 + 10 * 3_600_000;
      const usage = () => store.teamUsage(team, t0, to, 5);
      const impact = async () =>
        (await store.dryRunImpacts(site, to, [{ ruleId: rule, fromMs: t0 }], 0))[0];
      expect(await usage()).toEqual({ requests: 30, bySite: [{ siteId: site, requests: 30 }] });
      // Hits 0 to 27: 0 and 21 denied live, the other eight allowed: 15 a bot's, the other seven
      // from the IP that 28 shows was denied live in the window, so none likely legitimate.
      expect(await impact()).toMatchObject({
        wouldDeny: 8,
        alsoDeniedLive: 2,
        likelyLegitimate: 0,
      });
      // Before 28's denial, the same seven were likely legitimate.
      expect(
        (await store.dryRunImpacts(site, t0 + 28 * 600_000, [{ ruleId: rule, fromMs: t0 }], 0))[0],
      ).toMatchObject({ wouldDeny: 8, likelyLegitimate: 7 });
      const bots = () =>
        store.newBotSignatures(
          { siteId: site, previousFromMs: t0 - 3_600_000, fromMs: t0, toMs: to },
          1,
          5,
        );
      expect(await bots()).toEqual([{ userAgent: 'Bot/1.0', botCategory: 'scraper', requests: 6 }]);
      // A repeated migration (a crash before its version row) rebuilds instead of adding twice.
      await raw.command({ query: `TRUNCATE TABLE ${db}.bulwark_schema` });
      await raw.command({ query: `INSERT INTO ${db}.bulwark_schema (version) VALUES (1)` });
      await store.migrate();
      await store.insertDecisions([at(30), at(31)]);
      expect((await usage()).requests).toBe(32);
      expect(await impact()).toMatchObject({
        wouldDeny: 9,
        alsoDeniedLive: 2,
        likelyLegitimate: 0,
      });
      expect((await bots())[0].requests).toBe(7);
      const rolled = async (table: string) => {
        const [row] = await (
          await raw.query({
            query: `SELECT sum(requests) AS n FROM ${db}.${table}`,
            format: 'JSONEachRow',
          })
        ).json<{ n: string }>();
        return Number(row.n);
      };
      expect(await rolled('decisions_hourly')).toBe(32);
      expect(await rolled('dry_run_hourly')).toBe(11);
      expect(await rolled('bots_hourly')).toBe(7);
      expect(await rolled('denied_hourly')).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('upgrading from schema version 5 rebuilds the hourly rollup with with_email, backfilled', async () => {
    const store = await freshStore();
    try {
      const team = 'team_withemail';
      const site = 'site_withemail';
      const rule = 'rule_withemail';
      const t0 = Date.UTC(2026, 10, 4);
      // Every other decision carries an email; every third is one the email rule would deny.
      const at = (i: number) =>
        decision({
          teamId: team,
          siteId: site,
          timeMs: t0 + i * 600_000,
          email: i % 2 === 0 ? `u${i}@example.org` : null,
          dryRunDenials: i % 6 === 0 ? [rule] : [],
        });
      await store.insertDecisions(Array.from({ length: 30 }, (_, i) => at(i)));
      // Back to version 5: decisions_hourly as version 2 built it, without with_email.
      const db = store.database;
      const columns = 'site_id, team_id, conclusion, reason, country, asn, as_org, network_type';
      const select = `SELECT intDiv(ts_ms, 3600000) * 3600000 AS hour, ${columns},
          count() AS requests FROM ${db}.decisions GROUP BY hour, ${columns}`;
      for (const statement of [
        `DROP TABLE ${db}.decisions_hourly_mv`,
        `DROP TABLE ${db}.decisions_hourly`,
        `CREATE TABLE ${db}.decisions_hourly (site_id String, team_id String, hour Int64,
          conclusion String, reason String, country String, asn UInt32, as_org String,
          network_type String, requests UInt64) ENGINE = SummingMergeTree()
          PARTITION BY toYYYYMM(toDateTime(intDiv(hour, 1000), 'UTC'))
          ORDER BY (site_id, hour, conclusion, reason, country, asn, network_type, as_org, team_id)`,
        `CREATE MATERIALIZED VIEW ${db}.decisions_hourly_mv TO ${db}.decisions_hourly AS ${select}`,
        `INSERT INTO ${db}.decisions_hourly (hour, ${columns}, requests) ${select}`,
        `TRUNCATE TABLE ${db}.bulwark_schema`,
        `INSERT INTO ${db}.bulwark_schema (version) VALUES (5)`,
      ]) {
        await raw.command({ query: statement });
      }
      await store.migrate();
      // Whole hours only: the window counts come from the rollup alone.
      const to = t0 + 10 * 3_600_000;
      const impacts = () =>
        store.dryRunImpacts(
          site,
          to,
          [
            { ruleId: rule, fromMs: t0, emailOnly: true },
            { ruleId: 'rule_other', fromMs: t0 },
          ],
          0,
        );
      const [email, other] = await impacts();
      expect(email).toMatchObject({ evaluated: 15, wouldDeny: 5 });
      expect(other).toMatchObject({ evaluated: 30, wouldDeny: 0 });
      expect(await store.teamUsage(team, t0, to, 5)).toEqual({
        requests: 30,
        bySite: [{ siteId: site, requests: 30 }],
      });
      // A repeated migration rebuilds instead of adding twice; the view counts new rows.
      await raw.command({ query: `TRUNCATE TABLE ${db}.bulwark_schema` });
      await raw.command({ query: `INSERT INTO ${db}.bulwark_schema (version) VALUES (5)` });
      await store.migrate();
      await store.insertDecisions([at(30), at(31)]);
      const [email2, other2] = await impacts();
      expect(email2.evaluated).toBe(16);
      expect(other2.evaluated).toBe(32);
      const [row] = await (
        await raw.query({
          query: `SELECT sum(requests) AS n, sumIf(requests, with_email = 1) AS e
                    FROM ${db}.decisions_hourly`,
          format: 'JSONEachRow',
        })
      ).json<{ n: string; e: string }>();
      expect([Number(row.n), Number(row.e)]).toEqual([32, 16]);
    } finally {
      await store.close();
    }
  });

  // Two lookup paths: ids in the batch's site/time range (few sites), and chunked `id IN` lists
  // (here forced by 10k distinct sites, whose list alone is longer than one query may be).
  it.each([
    ['few sites: range lookup', (i: number) => `site_${i % 7}`],
    ['10k sites: chunked id lookup', (i: number) => `site_${String(i).padStart(40, '0')}`],
  ])(
    'keeps a 10k batch idempotent across months (%s)',
    async (_name, siteOf) => {
      const store = await freshStore();
      try {
        const t0 = Date.UTC(2026, 0, 1);
        const rows = Array.from({ length: 10_000 }, (_, i) =>
          decision({ siteId: siteOf(i), timeMs: t0 + i * 3_600_000 }),
        );
        await store.insertDecisions(rows.slice(0, 3_000));
        await store.insertDecisions([...rows.slice(2_000), ...rows.slice(0, 10)]);
        await store.insertDecisions([...rows, ...rows]);
        const ids = rows.map((d) => d.id);
        expect(await store.countByIds(ids)).toEqual({ distinct: 10_000, rows: 10_000 });
        expect(await store.getDecision(rows[9_999].id)).toEqual(rows[9_999]);
      } finally {
        await store.close();
      }
    },
    60_000,
  );

  it('falls back to id lists when the range holds more rows than the lookup reads', async () => {
    const store = await freshStore();
    try {
      const t0 = Date.UTC(2026, 5, 1);
      const crowd = Array.from({ length: 20_001 }, (_, i) =>
        decision({ siteId: 'site_busy', timeMs: t0 + i }),
      );
      await store.insertDecisions(crowd);
      // Spans the whole crowded range: the range lookup would read over 20k ids.
      const batch = [
        crowd[0],
        decision({ siteId: 'site_busy', timeMs: t0 + 20_000 }),
        crowd[20_000],
      ];
      await store.insertDecisions(batch);
      await store.insertDecisions(batch);
      expect(await store.countByIds(batch.map((d) => d.id))).toEqual({ distinct: 3, rows: 3 });
    } finally {
      await store.close();
    }
  }, 60_000);

  it('clickhouse-client (the bench baseline) stores the same rows the adapter reads back', async () => {
    const store = await freshStore();
    try {
      const rows = [
        decision({ email: 'a@example.org', asn: null, dryRunDenials: ['rule_1', "r'2"] }),
        decision({ userAgent: "nul\u0000 tab\t quote' back\\slash 🙂", headers: { 'x-a': '\n' } }),
      ];
      const ms = await rawClientInsert(server, store.database, rows);
      expect(ms).toBeGreaterThan(0);
      for (const d of rows) expect(await store.getDecision(d.id)).toEqual(d);
    } finally {
      await store.close();
    }
  });

  it('takes the database from the URL path or the option, and refuses other names', async () => {
    const name = `db_${randomBytes(4).toString('hex')}`;
    const fromOption = await ClickHouseStore.open(`http://default:@127.0.0.1:${server.httpPort}`, {
      database: name,
    });
    await fromOption.migrate();
    expect(fromOption.database).toBe(name);
    await fromOption.close();
    const fromPath = await ClickHouseStore.open(`${server.url}/${name}`);
    expect(fromPath.database).toBe(name);
    expect(await fromPath.ping()).toBe(true);
    await fromPath.close();
    await expect(ClickHouseStore.open(`${server.url}/bad-name`)).rejects.toThrow(TypeError);
    await expect(ClickHouseStore.open(`${server.url}/a%60b`)).rejects.toThrow(TypeError);
    await expect(ClickHouseStore.open(`${server.url}/a/b`)).rejects.toThrow(TypeError);
    await expect(ClickHouseStore.open('postgres://127.0.0.1/x')).rejects.toThrow(TypeError);
  });

  it('survives a server stop and start: data kept, same URL, writes fail while down', async () => {
    const store = await ClickHouseStore.open(`${server.url}/restart`, { requestTimeoutMs: 2_000 });
    try {
      await store.migrate();
      const before = decision({ siteId: 'site_restart' });
      await store.insertDecisions([before]);
      await server.stop();
      expect(await store.ping()).toBe(false);
      const during = decision({ siteId: 'site_restart' });
      await expect(store.insertDecisions([during])).rejects.toThrow();
      await server.start();
      expect(await store.ping()).toBe(true);
      await store.insertDecisions([before, during]);
      expect(await store.countByIds([before.id, during.id])).toEqual({ distinct: 2, rows: 2 });
    } finally {
      await store.close();
    }
  }, 60_000);
});
