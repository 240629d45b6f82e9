import { DataSource } from 'typeorm';
import { newId } from '../../src/common/ids';
import { migrate, MIGRATIONS, openDatabase, DatabaseHandle } from '../../src/database/database';
import { RuleEntity } from '../../src/rules/rule.entity';
import { SiteEntity } from '../../src/sites/site.entity';
import { MembershipEntity } from '../../src/teams/membership.entity';
import { TeamEntity } from '../../src/teams/team.entity';
import { AuditEntryEntity } from '../../src/audit/audit-entry.entity';
import { DB_KINDS, DbKind } from '../support/app';
import { createTestDatabase, TestDatabase } from '../support/postgres';

async function open(kind: DbKind): Promise<{ handle: DatabaseHandle; pg?: TestDatabase }> {
  if (kind === 'pglite')
    return { handle: await openDatabase({ dataDir: 'memory://', runMigrations: false }) };
  const pg = await createTestDatabase();
  return {
    handle: await openDatabase({ databaseUrl: pg.url, dataDir: 'memory://', runMigrations: false }),
    pg,
  };
}

const tables = async (ds: DataSource) =>
  (
    await ds.query<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
    )
  ).map((r) => r.table_name);

describe.each(DB_KINDS)('storage on %s', (kind) => {
  let handle: DatabaseHandle;
  let pg: TestDatabase | undefined;
  let ds: DataSource;

  beforeAll(async () => {
    ({ handle, pg } = await open(kind));
    ds = handle.dataSource;
  }, 60_000);

  afterAll(async () => {
    await handle?.close();
    await pg?.drop();
  });

  it('migrates up from an empty database, and is a no-op the second time', async () => {
    expect(await tables(ds)).toEqual([]);
    const applied = await migrate(ds, kind === 'postgres');
    expect(applied).toEqual(MIGRATIONS.map((m) => new m().name));
    expect(await tables(ds)).toEqual([
      'audit_entries',
      'memberships',
      'migrations',
      'oauth_records',
      'rules',
      'sites',
      'teams',
      'users',
    ]);
    expect(await migrate(ds, kind === 'postgres')).toEqual([]);
  });

  it('reverts and re-applies the migrations cleanly', async () => {
    for (let i = 0; i < MIGRATIONS.length; i++) await ds.undoLastMigration();
    expect(await tables(ds)).toEqual(['migrations']);
    await migrate(ds, false);
    expect(await tables(ds)).toContain('rules');
  });

  describe('repositories', () => {
    const teamId = newId('team');
    const siteId = newId('site');

    beforeAll(async () => {
      await ds.getRepository(TeamEntity).insert({ id: teamId, name: 'Acme', plan: 'free' });
      await ds.getRepository(SiteEntity).insert({
        id: siteId,
        teamId,
        name: 'Shop',
        domain: 'shop.example.com',
        keyHash: `hash-${siteId}`,
        keyCiphertext: 'v1.x.y.z',
        keyLast4: 'abcd',
        keyRotatedAt: new Date(),
      });
    });

    it('round-trips a rule with its JSON config and timestamps', async () => {
      const id = newId('rule');
      const config = {
        algorithm: 'token_bucket',
        capacity: 10,
        refillRate: 1,
        intervalSeconds: 1,
        characteristic: 'ip',
      };
      await ds.getRepository(RuleEntity).insert({
        id,
        siteId,
        name: 'TB',
        type: 'rate_limit',
        mode: 'DRY_RUN',
        config,
        createdBy: 'a',
        updatedBy: 'a',
      });
      const rule = await ds.getRepository(RuleEntity).findOneByOrFail({ id });
      expect(rule.config).toEqual(config);
      expect(rule.createdAt).toBeInstanceOf(Date);
    });

    it('enforces one membership per subject and per e-mail in a team', async () => {
      const repo = ds.getRepository(MembershipEntity);
      await repo.insert({
        id: newId('member'),
        teamId,
        subject: 'sub-1',
        email: null,
        role: 'owner',
      });
      await expect(
        repo.insert({ id: newId('member'), teamId, subject: 'sub-1', email: null, role: 'viewer' }),
      ).rejects.toThrow(/duplicate key/);
      await repo.insert({
        id: newId('member'),
        teamId,
        subject: null,
        email: 'x@example.com',
        role: 'viewer',
      });
      await expect(
        repo.insert({
          id: newId('member'),
          teamId,
          subject: null,
          email: 'x@example.com',
          role: 'admin',
        }),
      ).rejects.toThrow(/duplicate key/);
    });

    it('rejects values outside the allowed enums at the database too', async () => {
      await expect(
        ds.query(
          `INSERT INTO rules (id, site_id, name, type, mode, config, created_by, updated_by) VALUES ($1, $2, 'x', 'magic', 'LIVE', '{}', 'a', 'a')`,
          [newId('rule'), siteId],
        ),
      ).rejects.toThrow(/check constraint/);
    });

    it('deleting a team removes its sites, rules and members but keeps its audit trail', async () => {
      await ds.getRepository(AuditEntryEntity).insert({
        id: newId('audit'),
        teamId,
        actorSubject: 'sub-1',
        actorEmail: null,
        clientId: null,
        via: 'rest',
        action: 'team.deleted',
        resourceType: 'team',
        resourceId: teamId,
        before: { name: 'Acme' },
        after: null,
      });
      await ds.getRepository(TeamEntity).delete({ id: teamId });
      expect(await ds.getRepository(SiteEntity).countBy({ teamId })).toBe(0);
      expect(await ds.getRepository(RuleEntity).countBy({ siteId })).toBe(0);
      expect(await ds.getRepository(MembershipEntity).countBy({ teamId })).toBe(0);
      expect(await ds.getRepository(AuditEntryEntity).countBy({ teamId })).toBe(1);
    });
  });
});
