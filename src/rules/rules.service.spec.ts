import { DataSource, EntityManager } from 'typeorm';
import { strictFake } from '../../test/support/strict-fake';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { AuditRecord, AuditService } from '../audit/audit.service';
import { ForbiddenError, ValidationError } from '../common/errors';
import { SiteChanges } from '../decisions/site-changes';
import { newId, RuleId } from '../common/ids';
import { RuleEntity } from './rule.entity';
import { RulesService } from './rules.service';

const actor: Actor = { subject: 'alice', scopes: ['bulwark:write'], via: 'mcp', clientId: 'agent' };
const siteId = newId('site');
const teamId = newId('team');

function setup(opts: { denied?: boolean; mode?: 'DRY_RUN' | 'LIVE' } = {}) {
  const rows = new Map<string, RuleEntity>();
  const audits: AuditRecord[] = [];
  const existing = {
    id: newId('rule'),
    siteId,
    name: 'Limit',
    type: 'rate_limit',
    mode: opts.mode ?? 'DRY_RUN',
    config: { algorithm: 'fixed_window', max: 10, windowSeconds: 60, characteristic: 'ip' },
    createdBy: 'bob',
    updatedBy: 'bob',
    createdAt: new Date(0),
    updatedAt: new Date(0),
  } as RuleEntity;
  rows.set(existing.id, existing);
  const tx = strictFake<EntityManager>(
    {
      insert: ((_: unknown, row: RuleEntity) => {
        rows.set(row.id, { ...row, createdAt: new Date(), updatedAt: new Date() });
        return Promise.resolve({});
      }) as unknown as EntityManager['insert'],
      update: ((_: unknown, where: { id: RuleId }, changes: Partial<RuleEntity>) => {
        rows.set(where.id, { ...rows.get(where.id)!, ...changes });
        return Promise.resolve({});
      }) as unknown as EntityManager['update'],
      findOneByOrFail: ((_: unknown, where: { id: RuleId }) =>
        Promise.resolve(rows.get(where.id)!)) as unknown as EntityManager['findOneByOrFail'],
      // The site lock and the rule count that creation checks against the limit.
      findOne: (() =>
        Promise.resolve({ id: siteId, teamId })) as unknown as EntityManager['findOne'],
      count: () => Promise.resolve(rows.size),
    },
    'EntityManager',
  );
  const dataSource = strictFake<DataSource>({}, 'DataSource');
  const announced: string[] = [];
  const changes = strictFake<SiteChanges>(
    {
      transaction: (async (
        fn: (tx: EntityManager, changed: (...ids: string[]) => void) => Promise<unknown>,
      ) => {
        const marked: string[] = [];
        const result = await fn(tx, (...ids) => marked.push(...ids));
        // Like the real one: announced only once the work committed.
        announced.push(...marked);
        return result;
      }) as SiteChanges['transaction'],
    },
    'SiteChanges',
  );
  const deny = () => Promise.reject(new ForbiddenError('Your role in this team is viewer'));
  const access = strictFake<AccessService>(
    {
      requireSite: (() =>
        opts.denied
          ? deny()
          : Promise.resolve({
              site: { id: siteId, teamId },
            })) as unknown as AccessService['requireSite'],
      requireRule: ((_: Actor, id: RuleId) =>
        opts.denied
          ? deny()
          : Promise.resolve({
              rule: rows.get(id)!,
              site: { id: siteId, teamId },
            })) as unknown as AccessService['requireRule'],
    },
    'AccessService',
  );
  const audit = strictFake<AuditService>(
    {
      record: (_tx: EntityManager, _actor: Actor, entry: AuditRecord) => {
        audits.push(entry);
        return Promise.resolve();
      },
    },
    'AuditService',
  );
  return {
    service: new RulesService(dataSource, access, audit, changes),
    rows,
    audits,
    existing,
    announced,
  };
}

describe(RulesService.name, () => {
  it('creates every rule in DRY_RUN and audits it with the team', async () => {
    const { service, audits } = setup();
    const rule = await service.create(actor, siteId, {
      name: 'Shield',
      type: 'shield',
      config: { detect: ['xss'] },
    });
    expect(rule.mode).toBe('DRY_RUN');
    expect(rule.createdBy).toBe('alice');
    expect(audits).toEqual([
      expect.objectContaining({ teamId, action: 'rule.created', resourceId: rule.id, after: rule }),
    ]);
  });

  it('writes nothing when the access policy refuses', async () => {
    const { service, rows, audits, announced } = setup({ denied: true });
    await expect(
      service.create(actor, siteId, { name: 'S', type: 'shield', config: { detect: ['xss'] } }),
    ).rejects.toThrow(ForbiddenError);
    expect(rows.size).toBe(1);
    expect(audits).toEqual([]);
    expect(announced).toEqual([]);
  });

  it('validates a new config against the rule type, naming the fields and allowed values', async () => {
    const { service, existing, audits } = setup();
    const error = await service
      .update(actor, existing.id, { config: { algorithm: 'leaky_bucket', max: -1 } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).errors[0]).toEqual({
      field: 'config.algorithm',
      message: 'algorithm must be one of "fixed_window", "sliding_window", "token_bucket"',
    });
    expect((error as Error).message).toContain('The rule is of type rate_limit');
    expect(audits).toEqual([]);
  });

  it("says a rule's type cannot change only when the new config is of another type", async () => {
    const { service, existing, audits } = setup();
    const fault = (config: Record<string, unknown>) =>
      service.update(actor, existing.id, { config }).catch((e: unknown) => (e as Error).message);
    // A bad rate_limit config: the caller is not changing the type, so no word of it.
    const bad = await fault({ algorithm: 'fixed_window', max: 0, windowSeconds: 60 });
    expect(bad).toContain(
      'The rule is of type rate_limit: send its complete new rate_limit config',
    );
    expect(bad).not.toContain('cannot change');
    // An email config on a rate_limit rule: that is an attempt to change the type.
    const other = await fault({ deny: ['disposable'] });
    expect(other).toContain(
      "This is an email config, but the rule is of type rate_limit and a rule's type cannot change",
    );
    expect(audits).toEqual([]);
  });

  it('promotes with before and after in the audit, and promoting again changes nothing', async () => {
    const { service, existing, audits, announced } = setup();
    const live = await service.promote(actor, existing.id);
    // The decide path on every instance must drop the site's cached rules.
    expect(announced).toEqual([siteId]);
    expect(live.mode).toBe('LIVE');
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      action: 'rule.promoted',
      before: { mode: 'DRY_RUN' },
      after: { mode: 'LIVE' },
    });
    await service.promote(actor, existing.id);
    expect(audits).toHaveLength(1);
    expect(announced).toEqual([siteId]);
  });

  it('reports a promotion of a LIVE rule, or a demotion of a DRY_RUN one, as no change', async () => {
    const { service, existing, audits, announced } = setup({ mode: 'LIVE' });
    expect(await service.setMode(actor, existing.id, 'LIVE')).toEqual({
      rule: expect.objectContaining({ id: existing.id, mode: 'LIVE' }),
      changed: false,
    });
    expect([audits, announced]).toEqual([[], []]);
    expect(await service.setMode(actor, existing.id, 'DRY_RUN')).toMatchObject({
      rule: { mode: 'DRY_RUN' },
      changed: true,
    });
    expect((await service.setMode(actor, existing.id, 'DRY_RUN')).changed).toBe(false);
    expect(audits.map((a) => a.action)).toEqual(['rule.demoted']);
  });

  it('demotes a live rule', async () => {
    const { service, existing, audits } = setup({ mode: 'LIVE' });
    expect((await service.demote(actor, existing.id)).mode).toBe('DRY_RUN');
    expect(audits[0].action).toBe('rule.demoted');
  });
});
