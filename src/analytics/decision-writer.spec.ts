import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { decision } from '../../test/support/decisions';
import { DecisionRecord } from './analytics.port';
import { DecisionSink, DecisionWriter, WriterMetrics } from './decision-writer';

/**
 * A store whose outages the test controls. The real stores' failures are proven end to end
 * against a stopped ClickHouse (test/e2e/analytics-outage.spec.ts); this covers the
 * writer's own logic quickly and deterministically.
 */
class FlakyStore implements DecisionSink {
  readonly kind = 'flaky';
  readonly rows = new Map<string, DecisionRecord>();
  inserts = 0;
  readonly batchSizes: number[] = [];
  down = false;
  /** Fail after storing, like a timeout that hits once the store has committed. */
  failAfterCommit = false;

  insertDecisions(batch: readonly DecisionRecord[]): Promise<void> {
    this.inserts++;
    this.batchSizes.push(batch.length);
    if (this.down) return Promise.reject(new Error('connection refused'));
    for (const d of batch) this.rows.set(d.id, d);
    if (this.failAfterCommit) {
      this.failAfterCommit = false;
      return Promise.reject(new Error('timeout'));
    }
    return Promise.resolve();
  }
  ping = () => Promise.resolve(!this.down);
}

function counters() {
  const counts = { queued: 0, written: 0, spilled: 0, replayed: 0, dropped: 0 };
  const metrics: WriterMetrics = {
    queued: (n) => (counts.queued = n),
    written: (n) => (counts.written += n),
    spilled: (n) => (counts.spilled += n),
    replayed: (n) => (counts.replayed += n),
    dropped: (n) => (counts.dropped += n),
  };
  return { counts, metrics };
}

const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 500; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe(DecisionWriter.name, () => {
  beforeAll(() => Logger.overrideLogger(false));
  let dir: string;
  let store: FlakyStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bulwark-writer-'));
    store = new FlakyStore();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writer = (metrics: WriterMetrics, overrides = {}) =>
    new DecisionWriter(store, metrics, {
      spillDir: dir,
      batchSize: 10,
      flushIntervalMs: 10_000,
      retryDelaysMs: [1, 1],
      probeIntervalMs: 10,
      ...overrides,
    });

  it('starts sending as soon as a batch is full, in batches of at most batchSize', async () => {
    const { counts, metrics } = counters();
    const w = writer(metrics);
    for (let i = 0; i < 9; i++) w.enqueue(decision());
    expect(store.inserts).toBe(0);
    for (let i = 0; i < 16; i++) w.enqueue(decision());
    await until(() => counts.written === 25, 'the batches');
    expect(store.batchSizes).toEqual([10, 10, 5]);
    expect(counts).toMatchObject({ written: 25, queued: 0, spilled: 0 });
  });

  it('flushes on the interval', async () => {
    const { counts, metrics } = counters();
    const w = writer(metrics, { flushIntervalMs: 20 });
    w.start();
    w.enqueue(decision());
    await until(() => counts.written === 1, 'the interval flush');
    await w.close();
  });

  it('spills during an outage and replays every decision exactly once when the store is back', async () => {
    const { counts, metrics } = counters();
    const w = writer(metrics);
    w.start();
    const sent: DecisionRecord[] = [];
    const send = (n: number) => {
      for (let i = 0; i < n; i++) {
        const d = decision();
        sent.push(d);
        w.enqueue(d);
      }
    };
    send(5);
    await w.flush();
    store.down = true;
    send(30);
    await w.flush();
    expect(counts.spilled).toBe(30);
    // Attempts stop after the retries; later batches go straight to the spill file.
    const attempts = store.inserts;
    send(10);
    await w.flush();
    expect(store.inserts).toBe(attempts);
    store.down = false;
    await until(() => counts.replayed === 40, 'the replay');
    send(3);
    await w.close();
    expect([...store.rows.keys()].sort()).toEqual(sent.map((d) => d.id).sort());
    expect(readdirSync(dir)).toEqual([]);
  });

  it('sends a batch again when the store failed after committing it; the store dedupes', async () => {
    const { counts, metrics } = counters();
    const w = writer(metrics);
    store.failAfterCommit = true;
    const batch = Array.from({ length: 3 }, () => decision());
    batch.forEach((d) => w.enqueue(d));
    await w.flush();
    expect(store.inserts).toBe(2);
    expect(store.rows.size).toBe(3);
    expect(counts.written).toBe(3);
  });

  it('spills past the memory bound instead of growing or dropping', async () => {
    const { counts, metrics } = counters();
    const w = writer(metrics, { maxQueued: 5, batchSize: 100 });
    for (let i = 0; i < 8; i++) w.enqueue(decision());
    await until(() => counts.spilled === 3, 'the overflow spill');
    expect(w.pending).toBe(5);
    expect(counts.dropped).toBe(0);
  });

  it('spills what the store will not take at shutdown, and the next start replays it', async () => {
    const first = counters();
    const w1 = writer(first.metrics);
    w1.start();
    store.down = true;
    const sent = Array.from({ length: 12 }, () => decision());
    sent.forEach((d) => w1.enqueue(d));
    await w1.close();
    expect(first.counts.spilled).toBe(12);
    expect(store.rows.size).toBe(0);

    store.down = false;
    // A line torn by a crash mid-write must not stop the rest from replaying.
    appendFileSync(join(dir, readdirSync(dir)[0]), '{"id":"req_torn');
    const second = counters();
    const w2 = writer(second.metrics);
    w2.start();
    await until(() => second.counts.replayed === 12, 'the replay on start');
    await w2.close();
    expect([...store.rows.keys()].sort()).toEqual(sent.map((d) => d.id).sort());
  });
});
