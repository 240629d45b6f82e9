import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { AnalyticsStore } from '../src/analytics/analytics.port';
import { AnalyticsService } from '../src/analytics/analytics.service';
import { clientInsertFile } from '../src/analytics/clickhouse/clickhouse.bench';
import { ClickHouseStore } from '../src/analytics/clickhouse/clickhouse.store';
import { DuckDbStore } from '../src/analytics/duckdb/duckdb.store';
import { AppModule } from '../src/app.module';
import { AccessService } from '../src/auth/access.service';
import { Actor } from '../src/auth/actor';
import { SimulatedClock } from '../src/common/clock';
import { parseSiteId, parseTeamId } from '../src/common/ids';
import { loadConfig } from '../src/config/config';
import { DemoService } from '../src/demo/demo.service';
import { IntelService } from '../src/intel/intel.service';
import { startClickHouse } from '../test/support/clickhouse';

const log = (message: string) => console.error(`[bench] ${message}`);
const RUNS = 7;
const DUCKDB_MEMORY_LIMIT = process.env.BENCH_DUCKDB_MEMORY_LIMIT ?? '4GB';

interface ToolRow {
  tool: string;
  engine: string;
  p50: number;
  /** p50 of the tool's slowest statement run alone on the same engine. */
  rawP50: number;
  /** p50 of all the tool's statements replayed together, as the tool sends them. */
  allP50: number;
  /** Statements the tool sends to the analytics store. */
  queries: number;
  /** What the slowest one computes, in a few words. */
  main: string;
  tokens: number;
}

interface Statement {
  text: string;
  replay: () => Promise<unknown>;
}

/** Records the statements an analysis sends to a store, each with a way to run it again alone. */
interface Tracer {
  record(call: () => Promise<unknown>): Promise<Statement[]>;
}

// Both tracers wrap the store's one private query method (reached by name, bench only), so the
// replay runs exactly the text and parameters the analysis ran, through the same client.
function traceDuckDb(store: DuckDbStore): Tracer {
  return tracer(store, 'rows', (text) => text as string);
}

function traceClickHouse(store: ClickHouseStore): Tracer {
  return tracer(store, 'select', (query) => (query as { text: string }).text);
}

function tracer<S extends object>(store: S, method: string, textOf: (first: unknown) => string) {
  const target = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = target[method].bind(store);
  return {
    async record(call: () => Promise<unknown>): Promise<Statement[]> {
      const seen: Statement[] = [];
      target[method] = (...args: unknown[]) => {
        seen.push({ text: textOf(args[0]), replay: () => original(...args) });
        return original(...args);
      };
      try {
        await call();
      } finally {
        target[method] = original;
      }
      return seen;
    },
  };
}

/** "GROUP BY ip", "count" and the like: enough to tell which statement was the main one. */
function summarize(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  const group = /GROUP BY ([a-z_]+)/i.exec(flat);
  const notIn =
    (/FROM [a-z_]+_hourly/i.test(flat) ? ', rollup' : '') +
    (/NOT IN \(SELECT/i.test(flat) ? ', NOT IN' : '') +
    (/ARRAY JOIN|unnest\(dry/i.test(flat) ? ', per rule' : '') +
    (/LEFT JOIN/i.test(flat) ? ', join' : '');
  const days = /ts_ms >= (\d+) AND ts_ms < (\d+)/.exec(flat);
  const span = days ? `, ${Math.round((Number(days[2]) - Number(days[1])) / 3_600_000)} h` : '';
  return `${group ? `by ${group[1]}` : 'totals'}${notIn}${span}`;
}

/** Median of `runs` timed calls after one warm-up. */
async function p50(run: () => Promise<unknown>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

/**
 * The analyst tools at scale: `decisions` demo decisions generated through the real decide path
 * into DuckDB, copied to ClickHouse, then every analysis timed next to the raw SQL of its main
 * query on the same engine, with its output size in tokens (JSON characters / 4).
 */
export async function analyticsBench(decisions: number): Promise<string> {
  // BENCH_ANALYTICS_DIR keeps the generated data (PGlite, DuckDB) and reuses it on the next run
  // with the same BENCH_DECISIONS: generating 10 million decisions takes the better part of an
  // hour, timing the tools a few minutes.
  const keep = process.env.BENCH_ANALYTICS_DIR;
  if (keep) mkdirSync(keep, { recursive: true });
  const dataDir = keep ?? mkdtempSync(join(tmpdir(), 'bulwark-bench-analytics-'));
  const metaFile = join(dataDir, 'bench-dataset.json');
  const kept = existsSync(metaFile)
    ? (JSON.parse(readFileSync(metaFile, 'utf8')) as Dataset)
    : undefined;
  if (kept && kept.requested !== decisions) {
    throw new Error(
      `BENCH_ANALYTICS_DIR holds ${kept.requested} decisions, not ${decisions}: use another directory or BENCH_DECISIONS=${kept.requested}`,
    );
  }
  const clock = new SimulatedClock();
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }), { clock }),
    { logger: false },
  );
  // A kept directory keeps the ClickHouse copy too, so a rerun skips the copy.
  const ch = await startClickHouse(
    keep ? { dir: join(keep, 'clickhouse'), database: 'bench' } : undefined,
  );
  // Peak resident memory of the whole process (app, DuckDB), sampled every second.
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 1000);
  try {
    // DuckDB's default memory_limit is 80 % of the machine's RAM; the bench caps it.
    const duckdb = app.get<AnalyticsStore, DuckDbStore>(AnalyticsStore);
    await duckdb.benchmarkQuery(`SET memory_limit = '${DUCKDB_MEMORY_LIMIT}'`);
    let dataset: Dataset;
    if (kept) {
      log(`reusing ${kept.generated.toLocaleString('en-US')} decisions in ${dataDir}`);
      dataset = kept;
    } else {
      log(`generating ${decisions.toLocaleString('en-US')} demo decisions through the decide path`);
      const started = performance.now();
      let last = 0;
      const demo = await app
        .get(DemoService)
        .seed({ owner: 'bench', decisions, days: 29 }, (done, total) => {
          if (done - last >= total / 20) {
            last = done;
            log(`  ${Math.round((done / total) * 100)}%`);
          }
        });
      dataset = {
        requested: decisions,
        generated: demo.decisions,
        generateSeconds: (performance.now() - started) / 1000,
        generatePeakRss: Math.max(peakRss, process.memoryUsage().rss),
        siteId: demo.siteId,
        teamId: demo.teamId,
        now: Date.now(),
      };
      if (keep) writeFileSync(metaFile, JSON.stringify(dataset, null, 2));
    }
    clock.set(dataset.now);
    const demo = dataset;
    const generateSeconds = dataset.generateSeconds;
    const duck = duckdb;

    const store = await ClickHouseStore.open(`${ch.url}/${ch.database}`);
    await store.migrate();
    const stored = async () => {
      const [{ n }] = (await store.benchmarkQuery(
        `SELECT count() AS n FROM decisions WHERE site_id = '${demo.siteId}'`,
      )) as { n: number | string }[];
      return Number(n);
    };
    const copyStarted = performance.now();
    let copied = await stored();
    if (copied === demo.generated) {
      log(`reusing the ${copied.toLocaleString('en-US')} decisions copied to ClickHouse`);
    } else {
      log('copying the decisions to ClickHouse');
      // A kept copy that is not whole (an interrupted run) is started over.
      if (copied > 0) await store.benchmarkQuery(`TRUNCATE TABLE decisions`);
      // DuckDB writes the site's rows as JSONEachRow in ClickHouse's column order (nulls as ''
      // and 0, as the adapter sends them) and clickhouse-client streams the file in: paging
      // through listDecisions would sort the whole table for every page.
      const file = join(dataDir, 'decisions.ndjson');
      await duck.benchmarkQuery(
        `COPY (SELECT id, site_id, team_id, ts_ms, ip, method, protocol, host, path, query, user_agent, headers,
           coalesce(email, '') AS email, coalesce(country, '') AS country, coalesce(asn, 0) AS asn,
           coalesce(as_org, '') AS as_org, network_type, coalesce(bot_category, '') AS bot_category,
           conclusion, reason, coalesce(rule_id, '') AS rule_id, results, dry_run_denials
         FROM decisions WHERE site_id = '${demo.siteId}') TO '${file}' (FORMAT JSON)`,
      );
      const sent = await clientInsertFile(ch, ch.database, file);
      rmSync(file);
      copied = await stored();
      if (copied !== sent) throw new Error(`ClickHouse holds ${copied} of the ${sent} rows sent`);
      if (keep)
        writeFileSync(
          metaFile,
          JSON.stringify(
            { ...dataset, copySeconds: (performance.now() - copyStarted) / 1000 },
            null,
            2,
          ),
        );
    }
    const copySeconds = dataset.copySeconds ?? (performance.now() - copyStarted) / 1000;

    const actor: Actor = { subject: 'bench', scopes: ['bulwark:read'], via: 'rest' };
    const siteId = parseSiteId(demo.siteId);
    const teamId = parseTeamId(demo.teamId);
    const services: [string, AnalyticsService, Tracer][] = [
      ['DuckDB', app.get(AnalyticsService), traceDuckDb(duck)],
      [
        'ClickHouse',
        new AnalyticsService(
          store,
          app.get(AccessService),
          clock,
          app.get(DataSource),
          app.get(IntelService),
        ),
        traceClickHouse(store),
      ],
    ];
    const topIp = (await services[0][1].traffic(actor, siteId, 30)).topIps[0].ip;
    const rows: ToolRow[] = [];
    for (const [engine, service, tracer] of services) {
      const tools: [string, () => Promise<unknown>][] = [
        ['analyze-traffic', () => service.traffic(actor, siteId, 30)],
        ['get-anomalies', () => service.anomalies(actor, siteId, 24)],
        ['get-dry-run-impact', () => service.dryRunImpact(actor, siteId, 30)],
        ['investigate-ip', () => service.investigateIp(actor, siteId, topIp, 30)],
        ['get-quota', () => service.quota(actor, teamId)],
        ['get-security-briefing', () => service.briefing(actor, siteId)],
      ];
      for (const [tool, call] of tools) {
        log(`${engine}: ${tool}`);
        // The statements the tool sends to the analytics store, recorded on one call and then
        // each replayed alone: the slowest is its main query.
        const statements = await tracer.record(call);
        const output = JSON.stringify(await call());
        const p50Ms = await p50(call);
        let main = { rawP50: 0, text: '' };
        // All of them at once, as the tool sends them: what the tool adds over its SQL.
        const allP50 = await p50(() => Promise.all(statements.map((st) => st.replay())));
        log(
          `  p50 ${p50Ms.toFixed(1)} ms; its ${statements.length} statements together ${allP50.toFixed(1)} ms:`,
        );
        for (const statement of statements) {
          const rawP50 = await p50(statement.replay);
          log(`    ${rawP50.toFixed(1).padStart(8)} ms  ${summarize(statement.text)}`);
          if (rawP50 > main.rawP50) main = { rawP50, text: statement.text };
        }
        rows.push({
          tool,
          engine,
          p50: p50Ms,
          rawP50: main.rawP50,
          allP50,
          queries: statements.length,
          main: summarize(main.text),
          tokens: Math.ceil(output.length / 4),
        });
      }
    }
    await store.close();
    return report(
      decisions,
      demo.generated,
      generateSeconds,
      copied,
      copySeconds,
      rows,
      Math.max(peakRss, process.memoryUsage().rss, demo.generatePeakRss),
    );
  } finally {
    clearInterval(sampler);
    await app.close();
    await ch.cleanup();
    if (!keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** What a generation run leaves in BENCH_ANALYTICS_DIR for the next run. */
interface Dataset {
  requested: number;
  generated: number;
  generateSeconds: number;
  generatePeakRss: number;
  siteId: string;
  teamId: string;
  /** The simulated clock when generation ended: the tools' windows end here. */
  now: number;
  /** Set once the data was copied to ClickHouse in the kept directory. */
  copySeconds?: number;
}

function report(
  requested: number,
  generated: number,
  generateSeconds: number,
  copied: number,
  copySeconds: number,
  rows: ToolRow[],
  peakRss: number,
): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const ms = (v: number) => v.toFixed(1);
  return [
    '',
    `## Analyst tools at ${generated.toLocaleString('en-US')} demo decisions`,
    '',
    `Generated through the decide path in ${generateSeconds.toFixed(0)} s (${Math.round(generated / generateSeconds).toLocaleString('en-US')}/s) into DuckDB, copied to ClickHouse 18.16 in ${copySeconds.toFixed(0)} s (${copied.toLocaleString('en-US')} rows). Peak resident memory ${(peakRss / 2 ** 30).toFixed(1)} GiB (DuckDB memory_limit ${DUCKDB_MEMORY_LIMIT}). Median of ${RUNS} runs after a warm-up. Each tool's statements to the analytics store are recorded and replayed one at a time on the same engine and client; the slowest is its main statement ("by path, 720 h": grouped by path over 720 hours). "All statements" replays them together, as the tool sends them: the ratio to it is what the tool adds over its SQL (access check, rule lookups, shaping). Goals: tool / raw ≤ 1.5x; get-security-briefing p50 ≤ 300 ms on ClickHouse. Requested: ${requested.toLocaleString('en-US')}.`,
    '',
    line([
      'Tool',
      'Engine',
      'p50 ms',
      'statements',
      'main statement',
      'main p50 ms',
      'ratio',
      'all statements p50 ms',
      'ratio to all',
      'output tokens',
    ]),
    line(['---', '---', '---:', '---:', '---', '---:', '---:', '---:', '---:', '---:']),
    ...rows.map((r) =>
      line([
        r.tool,
        r.engine,
        ms(r.p50),
        String(r.queries),
        r.main,
        ms(r.rawP50),
        `${(r.p50 / r.rawP50).toFixed(2)}x`,
        ms(r.allP50),
        `${(r.p50 / r.allP50).toFixed(2)}x`,
        String(r.tokens),
      ]),
    ),
  ].join('\n');
}
