import { DataSource } from 'typeorm';
import { DatabaseHandle, openDatabase } from '../database/database';
import { TeamEntity } from '../teams/team.entity';
import { ReadCache } from './read-cache';

let db: DatabaseHandle;
let dataSource: DataSource;

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  dataSource = db.dataSource;
}, 60_000);
afterAll(() => db?.close());

/** A value that counts its loads. */
function loader() {
  let loads = 0;
  return {
    load: () => Promise.resolve({ n: ++loads, list: [{ id: 'a' }] }),
    get loads() {
      return loads;
    },
  };
}

describe(ReadCache.name, () => {
  it('is one per DataSource and registers itself once, only when enabled', () => {
    const before = dataSource.subscribers.length;
    const cache = ReadCache.of(dataSource, true);
    expect(ReadCache.of(dataSource, true)).toBe(cache);
    expect(dataSource.subscribers.length).toBe(before + 1);
    expect(cache.enabled).toBe(true);
    expect(ReadCache.disabled().enabled).toBe(false);
  });

  it('keeps a value until any statement other than a SELECT runs on the DataSource', async () => {
    const cache = ReadCache.of(dataSource, true);
    const value = loader();
    await cache.read('k', value.load);
    await cache.read('k', value.load);
    expect(value.loads).toBe(1);
    // Reads leave it alone.
    await dataSource.query('SELECT 1');
    await dataSource.manager.findOneBy(TeamEntity, { id: 'team_none' as TeamEntity['id'] });
    await cache.read('k', value.load);
    expect(value.loads).toBe(1);
    // Any write does not, nor does a transaction, even one that only reads.
    const writes = [
      () => dataSource.query(`INSERT INTO teams (id, name) VALUES ('team_x', 'X')`),
      () => dataSource.query(`update teams set name = 'Y' where id = 'team_x'`),
      () => dataSource.manager.delete(TeamEntity, { id: 'team_x' as TeamEntity['id'] }),
      () => dataSource.transaction((tx) => tx.query('SELECT 1')),
      () => dataSource.query(`WITH gone AS (DELETE FROM teams RETURNING id) SELECT * FROM gone`),
    ];
    for (const [i, write] of writes.entries()) {
      await write();
      await cache.read('k', value.load);
      expect(value.loads).toBe(2 + i);
    }
  });

  it('never stores a value read while a write happened', async () => {
    const cache = ReadCache.of(dataSource, true);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let loads = 0;
    const slow = async () => {
      loads++;
      await gate;
      return { stale: true };
    };
    const reading = cache.read('race', slow);
    await dataSource.query(`INSERT INTO teams (id, name) VALUES ('team_race', 'R')`);
    release();
    await expect(reading).resolves.toEqual({ stale: true });
    await cache.read('race', () => Promise.resolve({ stale: false }));
    await expect(cache.read('race', slow)).resolves.toEqual({ stale: false });
    expect(loads).toBe(1);
  });

  it('freezes what it stores, all the way down', async () => {
    const cache = ReadCache.of(dataSource, true);
    const value = await cache.read('frozen', () =>
      Promise.resolve({ items: [{ at: new Date(0), tags: ['a'] }] }),
    );
    expect(Object.isFrozen(value)).toBe(true);
    expect(Object.isFrozen(value.items[0])).toBe(true);
    expect(Object.isFrozen(value.items[0].tags)).toBe(true);
    expect(() => {
      (value.items as unknown[]).push(1);
    }).toThrow(TypeError);
  });

  it('loads every time when disabled', async () => {
    const cache = ReadCache.disabled();
    const value = loader();
    await cache.read('k', value.load);
    await cache.read('k', value.load);
    expect(value.loads).toBe(2);
  });
});
