import type {
  AfterQueryEvent,
  BeforeQueryEvent,
  DataSource,
  EntitySubscriberInterface,
} from 'typeorm';

/** Most entries kept; past it the oldest go first. */
const MAX_ENTRIES = 10_000;

/** A statement that only reads: everything else (writes, DDL, transaction control) invalidates. */
const READ_ONLY_STATEMENT = /^\s*SELECT\s/i;

interface Entry {
  generation: number;
  value: unknown;
}

/**
 * In-process cache of reads from the relational store, for the hot read paths: the access
 * policy's team, site and rule lookups and small lists an agent calls over and over.
 *
 * It is correct only where this process is the sole writer of the database, which is what
 * embedded mode is (PGlite under DATA_DIR is opened by one process; the CLI goes through the
 * running server's admin socket). There, every statement reaches the database through this
 * DataSource, and the cache watches them all (a TypeORM subscriber's beforeQuery/afterQuery,
 * which every query runner calls, raw `query()` included): any statement that is not a SELECT,
 * or a transaction's end, starts a new generation and empties the cache. Nothing relies on a
 * service remembering to invalidate, so a new writer cannot forget to. A value read while a
 * generation changed under it is returned but never stored. Reads inside a transaction never go
 * through the cache (callers pass their EntityManager and read the database).
 *
 * On PostgreSQL (production), other instances write the same database unseen, so the cache is
 * disabled there and every read goes to the database: no instance ever serves stale
 * authorization.
 */
export class ReadCache implements EntitySubscriberInterface {
  private static readonly byDataSource = new WeakMap<DataSource, ReadCache>();

  private generation = 0;
  private readonly entries = new Map<string, Entry>();

  private constructor(readonly enabled: boolean) {}

  /**
   * The cache of `dataSource`: enabled only when `soleWriter` (embedded mode), one per
   * DataSource so every service shares it.
   */
  static of(dataSource: DataSource, soleWriter: boolean): ReadCache {
    if (!soleWriter) return ReadCache.disabled();
    let cache = ReadCache.byDataSource.get(dataSource);
    if (!cache) {
      cache = new ReadCache(true);
      // Registered before any read goes through it; TypeORM calls subscribers on every query.
      dataSource.subscribers.push(cache);
      ReadCache.byDataSource.set(dataSource, cache);
    }
    return cache;
  }

  /** A disabled cache, which always loads (tests of services on fakes). */
  static disabled(): ReadCache {
    return new ReadCache(false);
  }

  /**
   * The value under `key`, loaded with `load` when missing or of an older generation. The
   * value is shared between callers and frozen once stored: they must not change it.
   */
  async read<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (!this.enabled) return load();
    const hit = this.entries.get(key);
    if (hit?.generation === this.generation) return hit.value as T;
    const generation = this.generation;
    const value = await load();
    if (generation === this.generation) {
      if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
      this.entries.set(key, { generation, value: freeze(value) });
    }
    return value;
  }

  /** Everything read so far may be stale from now on. */
  invalidate(): void {
    this.generation++;
    this.entries.clear();
  }

  /** @internal TypeORM: before every statement on the DataSource. */
  beforeQuery(event: BeforeQueryEvent): void {
    if (!READ_ONLY_STATEMENT.test(event.query)) this.invalidate();
  }

  /**
   * @internal TypeORM: after every statement. A write invalidates again once done, so a read
   * that ran beside it (another connection) and saw the old rows is not kept either.
   */
  afterQuery(event: AfterQueryEvent): void {
    if (!READ_ONLY_STATEMENT.test(event.query)) this.invalidate();
  }
}

/** Freezes a cached value and everything in it (Dates aside), so no caller can change it. */
function freeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  if (Object.isFrozen(value)) return value;
  for (const member of Object.values(value)) freeze(member);
  return Object.freeze(value);
}
