import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnalyticsStore } from '../../src/analytics/analytics.port';
import { startApp, TestApp } from '../support/app';
import { ClickHouseServer, startClickHouse } from '../support/clickhouse';
import { browserRequest, decide, siteFor } from '../support/decide';

const OUTAGE_MS = 30_000;

/**
 * The analytics outage the product promises to survive, for real: ClickHouse is stopped for 30 s
 * while protected apps keep asking for decisions, then started again. Every decision id that was
 * answered must end up in ClickHouse exactly once, also when the app is restarted gracefully
 * while ClickHouse is down.
 */
describe('decisions survive a ClickHouse outage', () => {
  let ch: ClickHouseServer;
  let dataDir: string;
  let app: TestApp;
  let site: Awaited<ReturnType<typeof siteFor>>;
  const answered: string[] = [];

  beforeAll(async () => {
    ch = await startClickHouse();
    dataDir = mkdtempSync(join(tmpdir(), 'bulwark-outage-'));
    app = await startApp('postgres', {
      CLICKHOUSE_URL: `${ch.url}/${ch.database}`,
      DATA_DIR: dataDir,
    });
    site = await siteFor(app, 'alice');
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await ch?.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000); // stopping ClickHouse takes seconds, more on a loaded machine

  /** Sends decisions in small concurrent waves until `stop` resolves; records every id answered. */
  async function traffic(url: string, stop: Promise<unknown>) {
    let done = false;
    void stop.then(() => (done = true));
    let failures = 0;
    while (!done) {
      const wave = await Promise.all(
        Array.from({ length: 10 }, () =>
          decide(url, site.key, browserRequest()).then(
            (res) => (res.status === 200 ? (res.body as { id: string }).id : null),
            () => null,
          ),
        ),
      );
      for (const id of wave) {
        if (id) answered.push(id);
        else failures++;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // The decide path never depends on the analytics store being up.
    expect(failures).toBe(0);
  }

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function expectAllStoredOnce(store: AnalyticsStore) {
    let counts = { distinct: 0, rows: 0 };
    for (let i = 0; i < 120; i++) {
      counts = await store.countByIds(answered);
      if (counts.distinct === answered.length) break;
      await sleep(500);
    }
    expect(counts).toEqual({ distinct: answered.length, rows: answered.length });
  }

  it('stores every answered decision exactly once after 30 s of ClickHouse downtime', async () => {
    const running = traffic(
      app.url,
      (async () => {
        await sleep(1_000);
        await ch.stop();
        await sleep(OUTAGE_MS);
        await ch.start();
        await sleep(2_000);
      })(),
    );
    await running;
    expect(answered.length).toBeGreaterThan(500);
    await expectAllStoredOnce(app.app.get(AnalyticsStore));
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(Number(/bulwark_decisions_spilled_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/bulwark_decisions_replayed_total (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(Number(/bulwark_decisions_dropped_total (\d+)/.exec(metrics)?.[1])).toBe(0);
    // Everything replayed: no spill file left behind.
    expect(readdirSync(join(dataDir, 'spill'))).toEqual([]);
  }, 180_000);

  it('keeps decisions answered during an outage across a graceful restart of the app', async () => {
    const before = answered.length;
    await ch.stop();
    await traffic(app.url, sleep(2_000));
    expect(answered.length).toBeGreaterThan(before);
    // Graceful shutdown: the queue goes to the spill file, since ClickHouse is still down.
    await app.app.close();
    expect(readdirSync(join(dataDir, 'spill')).length).toBeGreaterThan(0);
    await ch.start();
    const env = app.env;
    const next = await startApp('pglite', {
      DATABASE_URL: env.DATABASE_URL,
      ENCRYPTION_KEY: env.ENCRYPTION_KEY,
      CLICKHOUSE_URL: env.CLICKHOUSE_URL,
      DATA_DIR: dataDir,
    });
    try {
      await expectAllStoredOnce(next.app.get(AnalyticsStore));
    } finally {
      await next.close();
    }
  }, 120_000);
});
