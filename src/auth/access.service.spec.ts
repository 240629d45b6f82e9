import { randomBytes } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { strictFake } from '../../test/support/strict-fake';
import { ForbiddenError, InsufficientScopeError, NotFoundError } from '../common/errors';
import { newId, RuleId, SiteId, TeamId } from '../common/ids';
import { AppConfig } from '../config/config';
import { DatabaseHandle, openDatabase } from '../database/database';
import { SiteEntity } from '../sites/site.entity';
import { MembershipEntity } from '../teams/membership.entity';
import { AccessService } from './access.service';
import { Actor } from './actor';
import { Permission, PERMISSIONS, Role, ROLES } from './permissions';

const EXPECTED: Record<Role, Permission[]> = {
  owner: [
    'read',
    'rules:write',
    'sites:write',
    'site-keys:manage',
    'members:manage',
    'team:update',
    'team:delete',
  ],
  admin: [
    'read',
    'rules:write',
    'sites:write',
    'site-keys:manage',
    'members:manage',
    'team:update',
  ],
  member: ['read', 'rules:write'],
  viewer: ['read'],
};

const actor: Actor = { subject: 'alice', scopes: ['bulwark:read', 'bulwark:write'], via: 'rest' };

interface World {
  teamId: TeamId;
  siteId: SiteId;
  ruleId: RuleId;
}

let db: DatabaseHandle;
let dataSource: DataSource;

beforeAll(async () => {
  db = await openDatabase({ dataDir: 'memory://' });
  dataSource = db.dataSource;
}, 60_000);
afterAll(() => db?.close());

/** A team with one site and rule, where `subject` has `role` (or no membership). */
async function world(role: Role | null, subject = 'alice'): Promise<World> {
  const teamId = newId('team');
  const siteId = newId('site');
  const ruleId = newId('rule');
  await dataSource.query(`INSERT INTO teams (id, name) VALUES ($1, 'T')`, [teamId]);
  await dataSource.query(
    `INSERT INTO sites (id, team_id, name, domain, key_hash, key_ciphertext, key_last4, key_rotated_at)
     VALUES ($1, $2, 'S', 's.test', $3, 'c', 'abcd', now())`,
    [siteId, teamId, randomBytes(16).toString('hex')],
  );
  await dataSource.query(
    `INSERT INTO rules (id, site_id, name, type, mode, config, created_by, updated_by)
     VALUES ($1, $2, 'R', 'shield', 'DRY_RUN', '{}', 'x', 'x')`,
    [ruleId, siteId],
  );
  if (role) await addMember(teamId, subject, role);
  return { teamId, siteId, ruleId };
}

function addMember(teamId: TeamId, subject: string | null, role: Role, email?: string) {
  return dataSource.query(
    `INSERT INTO memberships (id, team_id, subject, email, role) VALUES ($1, $2, $3, $4, $5)`,
    [newId('member'), teamId, subject, email ?? null, role],
  );
}

const EMBEDDED = { mode: 'embedded' } as AppConfig;
const PRODUCTION = { mode: 'production' } as AppConfig;

/** Every check below runs with the read cache off (production) and on (embedded). */
describe.each([
  ['production mode (no cache)', PRODUCTION],
  ['embedded mode (read cache)', EMBEDDED],
])('%s', (_, config) => {
  const service = () => new AccessService(dataSource, config);
  const checks = (access: AccessService, w: World, permission: Permission) => [
    () => access.requireTeam(actor, w.teamId, permission),
    () => access.requireSite(actor, w.siteId, permission),
    () => access.requireRule(actor, w.ruleId, permission),
  ];

  describe.each(ROLES)('role %s', (role) => {
    it.each(PERMISSIONS)('permission %s', async (permission) => {
      const w = await world(role);
      const access = service();
      // Twice: the second answer may come from the cache and must be the same.
      for (let round = 0; round < 2; round++) {
        for (const check of checks(access, w, permission)) {
          if (EXPECTED[role].includes(permission)) {
            await expect(check()).resolves.toMatchObject({ membership: { role } });
          } else {
            await expect(check()).rejects.toThrow(ForbiddenError);
          }
        }
      }
    });
  });

  it.each(PERMISSIONS)(
    'answers a non-member exactly like a missing resource (%s)',
    async (permission) => {
      const w = await world(null);
      // Someone else's team: a member, but not alice.
      await addMember(w.teamId, 'bob', 'owner');
      const missing: World = {
        teamId: newId('team'),
        siteId: newId('site'),
        ruleId: newId('rule'),
      };
      const access = service();
      const foreign = checks(access, w, permission);
      const absent = checks(access, missing, permission);
      for (let i = 0; i < foreign.length; i++) {
        const a = await foreign[i]().catch((e: unknown) => e);
        const b = await absent[i]().catch((e: unknown) => e);
        expect(a).toBeInstanceOf(NotFoundError);
        expect(b).toBeInstanceOf(NotFoundError);
        const strip = (e: unknown) =>
          (e as Error).message.replace(/(team|site|rule)_[0-9a-z]{26}/, '<id>');
        expect(strip(a)).toBe(strip(b));
      }
    },
  );

  describe('a team listing read with the check', () => {
    const sites = (after?: string, take = 10) => ({
      entity: SiteEntity,
      teamProperty: 'teamId' as const,
      after,
      take,
    });
    const addSite = async (teamId: TeamId) => {
      const id = newId('site');
      await dataSource.query(
        `INSERT INTO sites (id, team_id, name, domain, key_hash, key_ciphertext, key_last4, key_rotated_at)
         VALUES ($1, $2, 'S', 's.test', $3, 'c', 'abcd', now())`,
        [id, teamId, randomBytes(16).toString('hex')],
      );
      return id;
    };

    it.each(ROLES)('answers %s with the access and the page, in id order', async (role) => {
      const w = await world(role);
      const more = [await addSite(w.teamId), await addSite(w.teamId)];
      const all = [w.siteId, ...more].sort();
      const access = service();
      const first = await access.requireTeamListing(actor, w.teamId, 'read', sites(undefined, 2));
      expect(first.membership.role).toBe(role);
      expect(first.team.id).toBe(w.teamId);
      expect(first.rows.map((r) => r.id)).toEqual(all.slice(0, 2));
      expect(first.rows[0]).toBeInstanceOf(SiteEntity);
      expect(first.rows[0].keyRotatedAt).toBeInstanceOf(Date);
      const rest = await access.requireTeamListing(actor, w.teamId, 'read', sites(all[1], 2));
      expect(rest.rows.map((r) => r.id)).toEqual(all.slice(2));
      const none = await access.requireTeamListing(actor, w.teamId, 'read', sites(all[2]));
      expect(none.rows).toEqual([]);
      if (!EXPECTED[role].includes('sites:write')) {
        await expect(
          access.requireTeamListing(actor, w.teamId, 'sites:write', sites()),
        ).rejects.toThrow(ForbiddenError);
      }
    });

    it('answers a non-member exactly like a missing team, and sees changes at once', async () => {
      const w = await world(null);
      await addMember(w.teamId, 'bob', 'owner');
      const access = service();
      const foreign = await access
        .requireTeamListing(actor, w.teamId, 'read', sites())
        .catch((e: unknown) => e);
      const missingId = newId('team');
      const missing = await access
        .requireTeamListing(actor, missingId, 'read', sites())
        .catch((e: unknown) => e);
      expect(foreign).toBeInstanceOf(NotFoundError);
      expect((foreign as Error).message.replace(w.teamId, '<id>')).toBe(
        (missing as Error).message.replace(missingId, '<id>'),
      );
      await addMember(w.teamId, 'alice', 'viewer');
      const seen = await access.requireTeamListing(actor, w.teamId, 'read', sites());
      expect(seen.rows.map((r) => r.id)).toEqual([w.siteId]);
      const added = await addSite(w.teamId);
      const again = await access.requireTeamListing(actor, w.teamId, 'read', sites());
      expect(again.rows.map((r) => r.id)).toEqual([w.siteId, added].sort());
      await dataSource.query(`DELETE FROM memberships WHERE team_id = $1 AND subject = 'alice'`, [
        w.teamId,
      ]);
      await expect(access.requireTeamListing(actor, w.teamId, 'read', sites())).rejects.toThrow(
        NotFoundError,
      );
    });

    it('claims an invitation and lists the team', async () => {
      const w = await world(null);
      await addMember(w.teamId, null, 'viewer', 'erin@example.com');
      const erin: Actor = { ...actor, subject: 'erin', email: 'erin@example.com' };
      const found = await service().requireTeamListing(erin, w.teamId, 'read', sites());
      expect(found.membership).toMatchObject({ role: 'viewer', subject: 'erin' });
      expect(found.rows.map((r) => r.id)).toEqual([w.siteId]);
    });
  });

  it('lets bulwark:write cover reads, and refuses a token with neither scope', async () => {
    const w = await world('viewer');
    const access = service();
    await expect(
      access.requireTeam({ ...actor, scopes: ['bulwark:write'] }, w.teamId, 'read'),
    ).resolves.toBeDefined();
    await expect(access.requireTeam({ ...actor, scopes: [] }, w.teamId, 'read')).rejects.toThrow(
      InsufficientScopeError,
    );
  });

  it('sees a membership change at once, whoever writes it and however', async () => {
    const w = await world('admin');
    const access = service();
    await expect(access.requireSite(actor, w.siteId, 'sites:write')).resolves.toBeDefined();
    // Demoted through the entity manager.
    await dataSource.manager.update(
      MembershipEntity,
      { teamId: w.teamId, subject: 'alice' },
      { role: 'viewer' },
    );
    await expect(access.requireSite(actor, w.siteId, 'sites:write')).rejects.toThrow(
      ForbiddenError,
    );
    await expect(access.requireSite(actor, w.siteId, 'read')).resolves.toBeDefined();
    // Removed with raw SQL, inside a transaction.
    await dataSource.transaction((tx) =>
      tx.query(`DELETE FROM memberships WHERE team_id = $1 AND subject = 'alice'`, [w.teamId]),
    );
    await expect(access.requireTeam(actor, w.teamId, 'read')).rejects.toThrow(NotFoundError);
    await expect(access.requireSite(actor, w.siteId, 'read')).rejects.toThrow(NotFoundError);
    await expect(access.requireRule(actor, w.ruleId, 'read')).rejects.toThrow(NotFoundError);
    // Added again: a cached "not a member" must not outlive it.
    await addMember(w.teamId, 'alice', 'member');
    await expect(access.requireRule(actor, w.ruleId, 'rules:write')).resolves.toBeDefined();
    // The site moves to another team (a cascade the cache cannot know about row by row).
    const other = await world(null);
    await dataSource.query(`UPDATE sites SET team_id = $1 WHERE id = $2`, [other.teamId, w.siteId]);
    await expect(access.requireSite(actor, w.siteId, 'read')).rejects.toThrow(NotFoundError);
    await dataSource.query(`DELETE FROM teams WHERE id = $1`, [w.teamId]);
    await expect(access.requireTeam(actor, w.teamId, 'read')).rejects.toThrow(NotFoundError);
  });

  it('claims an invitation to the verified e-mail and answers as a member', async () => {
    const w = await world(null);
    await addMember(w.teamId, null, 'member', 'carol@example.com');
    const access = service();
    const carol: Actor = { ...actor, subject: 'carol', email: 'carol@example.com' };
    await expect(access.requireTeam(carol, w.teamId, 'read')).resolves.toMatchObject({
      membership: { role: 'member', subject: 'carol' },
    });
    await expect(access.requireTeam(carol, w.teamId, 'rules:write')).resolves.toBeDefined();
    const [row] = await dataSource.query<{ subject: string }[]>(
      `SELECT subject FROM memberships WHERE team_id = $1`,
      [w.teamId],
    );
    expect(row.subject).toBe('carol');
    // The same subject without the e-mail claim is a member now too; a stranger is not.
    await expect(
      access.requireTeam({ ...carol, email: undefined }, w.teamId, 'read'),
    ).resolves.toBeDefined();
    await expect(
      access.requireTeam({ ...actor, subject: 'mallory' }, w.teamId, 'read'),
    ).rejects.toThrow(NotFoundError);
  });
});

describe('the read cache (embedded mode)', () => {
  it('answers repeated checks without a query, and reads inside a transaction from it', async () => {
    const w = await world('owner');
    const access = new AccessService(dataSource, EMBEDDED);
    const queries: string[] = [];
    const counter = { beforeQuery: (e: { query: string }) => void queries.push(e.query) };
    dataSource.subscribers.push(counter);
    try {
      await access.requireSite(actor, w.siteId, 'read');
      const first = queries.length;
      expect(first).toBeGreaterThan(0);
      const again = await access.requireSite(actor, w.siteId, 'read');
      expect(queries.length).toBe(first);
      // Shared and frozen: nobody can change what the next caller gets.
      expect(Object.isFrozen(again.membership)).toBe(true);
      expect(Object.isFrozen(again.site)).toBe(true);
      // A transaction's reads go to the database, inside it.
      await dataSource.transaction((tx) => access.requireSite(actor, w.siteId, 'read', tx));
      expect(queries.length).toBeGreaterThan(first);
    } finally {
      dataSource.subscribers.splice(dataSource.subscribers.indexOf(counter), 1);
    }
  });

  it('is off in production mode: every check reads the database', async () => {
    const w = await world('owner');
    const access = new AccessService(dataSource, PRODUCTION);
    const queries: string[] = [];
    const counter = { beforeQuery: (e: { query: string }) => void queries.push(e.query) };
    dataSource.subscribers.push(counter);
    try {
      await access.requireTeam(actor, w.teamId, 'read');
      const first = queries.length;
      await access.requireTeam(actor, w.teamId, 'read');
      expect(queries.length).toBe(2 * first);
      // A listing and its check: one statement.
      const listing = { entity: SiteEntity, teamProperty: 'teamId' as const, take: 51 };
      await access.requireTeamListing(actor, w.teamId, 'read', listing);
      expect(queries.length).toBe(2 * first + 1);
    } finally {
      dataSource.subscribers.splice(dataSource.subscribers.indexOf(counter), 1);
    }
  });
});

describe('scopes', () => {
  it('requires bulwark:write for every permission but read, before touching storage', async () => {
    const untouchable = strictFake<DataSource>(
      { manager: strictFake<EntityManager>({}, 'EntityManager') },
      'DataSource',
    );
    const access = new AccessService(untouchable);
    const reader: Actor = { ...actor, scopes: ['bulwark:read'] };
    for (const permission of PERMISSIONS.filter((p) => p !== 'read')) {
      await expect(access.requireTeam(reader, newId('team'), permission)).rejects.toThrow(
        InsufficientScopeError,
      );
    }
  });
});
