import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnalyticsStore } from '../../src/analytics/analytics.port';
import { ClickHouseStore } from '../../src/analytics/clickhouse/clickhouse.store';
import { DuckDbStore } from '../../src/analytics/duckdb/duckdb.store';
import { ClickHouseServer, startClickHouse } from './clickhouse';

export interface OpenedStore {
  store: AnalyticsStore;
  /** Opens a second store on the same data (a restart), migrated. */
  reopen(): Promise<AnalyticsStore>;
  cleanup(): Promise<void>;
}

/** Every analytics adapter, each opened on fresh, empty storage; the contract suite runs them all. */
export const ANALYTICS_ADAPTERS: ReadonlyArray<readonly [string, () => Promise<OpenedStore>]> = [
  [
    'duckdb',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bulwark-duckdb-'));
      const file = join(dir, 'analytics.duckdb');
      let store = await DuckDbStore.open(file);
      await store.migrate();
      return {
        store,
        async reopen() {
          await store.close();
          store = await DuckDbStore.open(file);
          await store.migrate();
          return store;
        },
        async cleanup() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'clickhouse',
    async () => {
      // One server per test file (module registry), a fresh database per opened store.
      const server = await sharedClickHouse.acquire();
      const url = `${server.url}/bulwark_${randomBytes(6).toString('hex')}`;
      let store = await ClickHouseStore.open(url);
      try {
        await store.migrate();
      } catch (error) {
        await store.close();
        await sharedClickHouse.release();
        throw error;
      }
      return {
        store,
        async reopen() {
          await store.close();
          store = await ClickHouseStore.open(url);
          await store.migrate();
          return store;
        },
        async cleanup() {
          await store.close();
          await sharedClickHouse.release();
        },
      };
    },
  ],
];

/** The ClickHouse server this test file's stores share; stopped when the last store is cleaned up. */
const sharedClickHouse = {
  server: undefined as Promise<ClickHouseServer> | undefined,
  users: 0,
  acquire(): Promise<ClickHouseServer> {
    this.users++;
    this.server ??= startClickHouse();
    const server = this.server;
    // A failed start is not cached: the next open() tries again.
    server.catch(() => {
      if (this.server === server) this.server = undefined;
    });
    return server.catch((error: unknown) => {
      this.users--;
      throw error;
    });
  },
  async release(): Promise<void> {
    if (--this.users > 0 || !this.server) return;
    const server = this.server;
    this.server = undefined;
    await (await server).cleanup();
  },
};
