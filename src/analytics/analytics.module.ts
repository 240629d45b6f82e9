import { join } from 'node:path';
import { tmpdir } from 'node:os';
import {
  Global,
  Inject,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Metrics } from '../platform/metrics';
import { AnalyticsStore } from './analytics.port';
import { ClickHouseStore } from './clickhouse/clickhouse.store';
import { DecisionWriter } from './decision-writer';
import { DuckDbStore } from './duckdb/duckdb.store';

/** Where spill files go: DATA_DIR, or a temp directory for in-memory runs. */
export function spillDir(config: AppConfig): string {
  return config.dataDir === 'memory://'
    ? join(tmpdir(), `bulwark-spill-${process.pid}`)
    : join(config.dataDir, 'spill');
}

/**
 * The analytics store (ClickHouse when CLICKHOUSE_URL is set, else a DuckDB file in DATA_DIR) and
 * the writer that feeds it. A ClickHouse that is down at start does not stop Bulwark: decisions
 * are spilled and replayed once the schema could be created.
 */
@Global()
@Module({
  providers: [
    {
      provide: AnalyticsStore,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig): Promise<AnalyticsStore> => {
        if (config.clickhouseUrl) return ClickHouseStore.open(config.clickhouseUrl);
        return DuckDbStore.open(
          config.dataDir === 'memory://' ? ':memory:' : join(config.dataDir, 'analytics.duckdb'),
        );
      },
    },
    {
      provide: DecisionWriter,
      inject: [AnalyticsStore, Metrics, APP_CONFIG],
      useFactory: (store: AnalyticsStore, metrics: Metrics, config: AppConfig) =>
        new DecisionWriter(
          store,
          {
            queued: (n) => metrics.decisions.queued.set(n),
            written: (n) => metrics.decisions.written.inc(n),
            spilled: (n) => metrics.decisions.spilled.inc(n),
            replayed: (n) => metrics.decisions.replayed.inc(n),
            dropped: (n) => metrics.decisions.dropped.inc(n),
          },
          {
            spillDir: spillDir(config),
            probe: async () => {
              await store.migrate();
              return store.ping();
            },
          },
        ),
    },
  ],
  exports: [AnalyticsStore, DecisionWriter],
})
export class AnalyticsModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AnalyticsModule.name);

  constructor(
    private readonly store: AnalyticsStore,
    private readonly writer: DecisionWriter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    try {
      await this.store.migrate();
    } catch (error) {
      // DuckDB is a local file: failing to open it is a configuration error worth stopping for.
      if (!this.config.clickhouseUrl) throw error;
      this.logger.error(
        `ClickHouse at CLICKHOUSE_URL is not ready (${(error as Error).message}); decisions are spilled to ${spillDir(this.config)} until it is.`,
      );
      this.writer.suspend(error);
    }
    this.writer.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.writer.close();
    await this.store.close();
  }
}
