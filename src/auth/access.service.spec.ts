import { DataSource, EntityManager } from 'typeorm';
import { strictFake } from '../../test/support/strict-fake';
import { ForbiddenError, InsufficientScopeError, NotFoundError } from '../common/errors';
import { newId } from '../common/ids';
import { RuleEntity } from '../rules/rule.entity';
import { SiteEntity } from '../sites/site.entity';
import { MembershipEntity } from '../teams/membership.entity';
import { TeamEntity } from '../teams/team.entity';
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

const teamId = newId('team');
const siteId = newId('site');
const ruleId = newId('rule');
const actor: Actor = { subject: 'alice', scopes: ['bulwark:read', 'bulwark:write'], via: 'rest' };

/** An entity manager holding one team, site and rule, where alice has `role` (or no membership). */
function world(role: Role | null): EntityManager {
  const rows = new Map<unknown, object[]>([
    [TeamEntity, [{ id: teamId, name: 'T', plan: 'free' }]],
    [SiteEntity, [{ id: siteId, teamId }]],
    [RuleEntity, [{ id: ruleId, siteId }]],
    [
      MembershipEntity,
      role ? [{ id: newId('member'), teamId, subject: 'alice', email: null, role }] : [],
    ],
  ]);
  const find = (entity: unknown, where: Record<string, unknown>) =>
    (rows.get(entity) ?? []).find((row) =>
      Object.entries(where).every(([k, v]) => (row as Record<string, unknown>)[k] === v),
    ) ?? null;
  return strictFake<EntityManager>(
    {
      findOneBy: ((entity: unknown, where: Record<string, unknown>) =>
        Promise.resolve(find(entity, where))) as EntityManager['findOneBy'],
      findOneByOrFail: ((entity: unknown, where: Record<string, unknown>) =>
        Promise.resolve(find(entity, where)!)) as EntityManager['findOneByOrFail'],
    },
    'EntityManager',
  );
}

describe(AccessService.name, () => {
  const service = (tx: EntityManager) =>
    new AccessService(strictFake<DataSource>({ manager: tx }, 'DataSource'));

  describe.each(ROLES)('role %s', (role) => {
    it.each(PERMISSIONS)('permission %s', async (permission) => {
      const access = service(world(role));
      const checks = [
        () => access.requireTeam(actor, teamId, permission),
        () => access.requireSite(actor, siteId, permission),
        () => access.requireRule(actor, ruleId, permission),
      ];
      for (const check of checks) {
        if (EXPECTED[role].includes(permission)) {
          await expect(check()).resolves.toMatchObject({ membership: { role } });
        } else {
          await expect(check()).rejects.toThrow(ForbiddenError);
        }
      }
    });
  });

  it.each(PERMISSIONS)(
    'answers a non-member exactly like a missing resource (%s)',
    async (permission) => {
      const access = service(world(null));
      const missing = service(world('owner'));
      for (const [check, absent] of [
        [
          () => access.requireTeam(actor, teamId, permission),
          () => missing.requireTeam(actor, newId('team'), permission),
        ],
        [
          () => access.requireSite(actor, siteId, permission),
          () => missing.requireSite(actor, newId('site'), permission),
        ],
        [
          () => access.requireRule(actor, ruleId, permission),
          () => missing.requireRule(actor, newId('rule'), permission),
        ],
      ] as const) {
        const a = await check().catch((e: unknown) => e);
        const b = await absent().catch((e: unknown) => e);
        expect(a).toBeInstanceOf(NotFoundError);
        expect(b).toBeInstanceOf(NotFoundError);
        const strip = (e: unknown) =>
          (e as Error).message.replace(/(team|site|rule)_[0-9a-z]{26}/, '<id>');
        expect(strip(a)).toBe(strip(b));
      }
    },
  );

  it('requires bulwark:write for every permission but read, before touching storage', async () => {
    const access = service(strictFake<EntityManager>({}, 'EntityManager'));
    const reader: Actor = { ...actor, scopes: ['bulwark:read'] };
    for (const permission of PERMISSIONS.filter((p) => p !== 'read')) {
      await expect(access.requireTeam(reader, teamId, permission)).rejects.toThrow(
        InsufficientScopeError,
      );
    }
  });

  it('lets bulwark:write cover reads, and refuses a token with neither scope', async () => {
    const access = service(world('viewer'));
    await expect(
      access.requireTeam({ ...actor, scopes: ['bulwark:write'] }, teamId, 'read'),
    ).resolves.toBeDefined();
    await expect(access.requireTeam({ ...actor, scopes: [] }, teamId, 'read')).rejects.toThrow(
      InsufficientScopeError,
    );
  });
});
