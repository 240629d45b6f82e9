import { createReadStream, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { appendFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Logger } from '@nestjs/common';
import { AnalyticsStore, DecisionRecord } from './analytics.port';

export interface WriterOptions {
  /** Directory for the spill files. */
  spillDir: string;
  /** Largest batch sent to the store at once. */
  batchSize?: number;
  /** A batch is sent at least this often while decisions are waiting. */
  flushIntervalMs?: number;
  /** Decisions held in memory at most; past it they go straight to the spill file. */
  maxQueued?: number;
  /** Delays between attempts before a failing batch is spilled. */
  retryDelaysMs?: readonly number[];
  /** How often a store that failed is probed for recovery. */
  probeIntervalMs?: number;
  /** Resolves true when the store can take writes again; the store's ping by default. */
  probe?: () => Promise<boolean>;
}

export interface WriterMetrics {
  queued(n: number): void;
  written(n: number): void;
  spilled(n: number): void;
  replayed(n: number): void;
  dropped(n: number): void;
}

const SPILL_PREFIX = 'decisions-spill';

/** What the writer needs of a store. */
export type DecisionSink = Pick<AnalyticsStore, 'kind' | 'insertDecisions' | 'ping'>;

/**
 * Takes decisions off the decide path and into the analytics store without losing any.
 *
 * Decisions wait in a bounded in-memory queue and go out in batches (by size, or every
 * `flushIntervalMs`). A batch that fails is retried with backoff; if the store is still failing,
 * the batch is appended to a spill file in DATA_DIR (one JSON record per line) and later batches
 * go straight there until a probe finds the store healthy again, then the spill files are
 * replayed. Stores are idempotent by decision id, so a batch that is sent twice (a timeout after
 * the store committed, a replay interrupted half-way) is stored once. Shutdown flushes the queue,
 * spilling what the store will not take. Only if the spill file cannot be written either is a
 * decision dropped, and counted.
 */
export class DecisionWriter {
  private readonly logger = new Logger(DecisionWriter.name);
  private queue: DecisionRecord[] = [];
  private readonly batchSize: number;
  private readonly maxQueued: number;
  private readonly retryDelays: readonly number[];
  private timer?: NodeJS.Timeout;
  private probeTimer?: NodeJS.Timeout;
  private flushing: Promise<void> | null = null;
  private storeDown = false;
  private replaying: Promise<void> | null = null;
  /** Set when close() starts: no more retries, probes or replays; late decisions are spilled. */
  private closed = false;
  private spillSeq = 0;

  constructor(
    private readonly store: DecisionSink,
    private readonly metrics: WriterMetrics,
    private readonly options: WriterOptions,
  ) {
    this.batchSize = options.batchSize ?? 1000;
    this.maxQueued = options.maxQueued ?? 100_000;
    this.retryDelays = options.retryDelaysMs ?? [100, 500, 2000];
    mkdirSync(options.spillDir, { recursive: true });
  }

  /** Starts the flush timer and replays spill files left by an earlier run. */
  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs ?? 200);
    this.timer.unref();
    if (this.spillFiles().length > 0) void this.replay();
  }

  /** Hands over one decision. Never throws, never waits. */
  enqueue(record: DecisionRecord): void {
    if (this.closed || this.queue.length >= this.maxQueued) {
      void this.spill([record]);
      return;
    }
    this.queue.push(record);
    this.metrics.queued(this.queue.length);
    if (this.queue.length >= this.batchSize) void this.flush();
  }

  /** Spills instead of sending until a probe finds the store healthy (a store down at start). */
  suspend(reason: unknown): void {
    this.markDown(reason);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Sends everything queued now; resolves when it is stored or spilled. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.queue.length === 0) return;
    this.flushing = this.drain().finally(() => (this.flushing = null));
    await this.flushing;
  }

  /** Flushes, waits for a running replay, and stops. The store itself is closed by its owner. */
  async close(): Promise<void> {
    // First, so that a failing store is not retried for seconds and no probe starts a replay
    // that would race with the next process's replay of the same files.
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.probeTimer);
    await this.flush();
    await this.replaying;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.batchSize);
      this.metrics.queued(this.queue.length);
      if (this.storeDown || !(await this.send(batch))) await this.spill(batch);
    }
  }

  /** Sends with retries; false when the store kept failing. */
  private async send(batch: DecisionRecord[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.store.insertDecisions(batch);
        this.metrics.written(batch.length);
        return true;
      } catch (error) {
        const delay = this.retryDelays[attempt];
        if (delay === undefined || this.closed) {
          this.markDown(error);
          return false;
        }
        await sleep(delay);
      }
    }
  }

  private markDown(error: unknown): void {
    if (!this.storeDown) {
      this.logger.error(
        `Analytics store (${this.store.kind}) is failing: ${(error as Error).message}. Spilling decisions to ${this.options.spillDir} until it is back.`,
      );
    }
    this.storeDown = true;
    this.scheduleProbe();
  }

  private scheduleProbe(): void {
    if (this.closed || this.probeTimer) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void this.probe();
    }, this.options.probeIntervalMs ?? 1000);
    this.probeTimer.unref();
  }

  private async probe(): Promise<void> {
    if (this.closed) return;
    const healthy = await (this.options.probe ?? (() => this.store.ping()))().catch(() => false);
    if (this.closed) return;
    if (!healthy) return this.scheduleProbe();
    this.logger.log(`Analytics store (${this.store.kind}) is back; replaying spilled decisions`);
    this.storeDown = false;
    await this.replay();
  }

  private async spill(batch: DecisionRecord[]): Promise<void> {
    const file = join(this.options.spillDir, `${SPILL_PREFIX}.ndjson`);
    try {
      await appendFile(file, batch.map((r) => JSON.stringify(r)).join('\n') + '\n');
      this.metrics.spilled(batch.length);
    } catch (error) {
      this.metrics.dropped(batch.length);
      this.logger.error(
        `Dropped ${batch.length} decisions: the analytics store and the spill file (${file}) both failed: ${(error as Error).message}`,
      );
    }
  }

  private spillFiles(): string[] {
    if (!existsSync(this.options.spillDir)) return [];
    return readdirSync(this.options.spillDir)
      .filter((f) => f.startsWith(SPILL_PREFIX))
      .sort()
      .map((f) => join(this.options.spillDir, f));
  }

  /** One replay at a time; new spills during it go to a fresh file and wait for the next. */
  private replay(): Promise<void> {
    this.replaying ??= this.replayAll().finally(() => (this.replaying = null));
    return this.replaying;
  }

  private async replayAll(): Promise<void> {
    const live = join(this.options.spillDir, `${SPILL_PREFIX}.ndjson`);
    for (;;) {
      if (existsSync(live)) {
        // Taken aside atomically, so appends that race with the replay land in a new file.
        const aside = `${SPILL_PREFIX}.${Date.now()}-${this.spillSeq++}.replay`;
        await rename(live, join(this.options.spillDir, aside));
      }
      for (const file of this.spillFiles().filter((f) => f.endsWith('.replay'))) {
        if (!(await this.replayFile(file))) return;
        await rm(file);
      }
      // Batches spilled during the replay (failed just before recovery) go round again.
      if (!existsSync(live) || this.storeDown || this.closed) return;
    }
  }

  /** Sends a spill file in batches; false (file kept, retried later) if the store fails again. */
  private async replayFile(file: string): Promise<boolean> {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let batch: DecisionRecord[] = [];
    const sendBatch = async () => {
      if (!(await this.send(batch))) return false;
      this.metrics.replayed(batch.length);
      batch = [];
      return true;
    };
    for await (const line of lines) {
      if (line.trim() === '') continue;
      try {
        batch.push(JSON.parse(line) as DecisionRecord);
      } catch {
        // A line torn by a crash mid-append: the rest of the file is still good.
        this.logger.warn(`Skipping an unreadable line in ${file}`);
        continue;
      }
      if (batch.length >= this.batchSize && !(await sendBatch())) return false;
    }
    return batch.length === 0 || sendBatch();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
