import { DataSource } from 'typeorm';
import { IntelService } from '../../src/intel/intel.service';
import { MIN_BASELINE } from '../../src/analytics/analytics.schemas';
import { AnalyticsService } from '../../src/analytics/analytics.service';
import { DuckDbStore } from '../../src/analytics/duckdb/duckdb.store';
import { AccessService } from '../../src/auth/access.service';
import { Actor } from '../../src/auth/actor';
import { Clock } from '../../src/common/clock';
import { newId } from '../../src/common/ids';
import { RuleEntity } from '../../src/rules/rule.entity';
import { ANALYTICS_ADAPTERS, OpenedStore } from '../support/analytics-stores';
import { decision } from '../support/decisions';
import { strictFake } from '../support/strict-fake';

const NOW = new Date(Date.UTC(2026, 10, 25, 12));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const actor: Actor = { subject: 'alice', scopes: ['bulwark:read'], via: 'rest' };

/** The service's periods and trend, on a real (in-memory) DuckDB with the clock held still. */
describe('AnalyticsService.traffic', () => {
  const siteId = newId('site');
  let store: DuckDbStore;
  let service: AnalyticsService;

  beforeAll(async () => {
    store = await DuckDbStore.open(':memory:');
    await store.migrate();
    const clock = { now: () => NOW } satisfies Clock;
    const access = strictFake<AccessService>(
      {
        requireSite: (() => Promise.resolve({})) as unknown as AccessService['requireSite'],
        requireTeam: (() =>
          Promise.resolve({ team: { plan: 'free' } })) as unknown as AccessService['requireTeam'],
      },
      'AccessService',
    );
    service = new AnalyticsService(
      store,
      access,
      clock,
      strictFake<DataSource>({}, 'DataSource'),
      strictFake<IntelService>({}, 'IntelService'),
    );
    const at = (ms: number, denied = false) =>
      decision({
        siteId,
        timeMs: NOW.getTime() - ms,
        ...(denied ? { conclusion: 'DENY' as const, reason: 'RATE_LIMITED' as const } : {}),
      });
    await store.insertDecisions([
      // The last day [now - 1 day, now): 4 requests, 1 denied; its start is inclusive.
      at(HOUR),
      at(2 * HOUR),
      at(3 * HOUR, true),
      at(DAY),
      // The day before: 2 requests, both denied.
      at(DAY + 1, true),
      at(DAY + HOUR, true),
      // Older than both periods.
      at(3 * DAY),
    ]);
  });
  afterAll(() => store.close());

  it('compares the last days with the same number of days before them', async () => {
    const a = await service.traffic(actor, siteId, 1);
    expect(a.current).toEqual({
      from: new Date(NOW.getTime() - DAY).toISOString(),
      to: NOW.toISOString(),
      requests: 4,
      denials: 1,
      denialRate: 0.25,
    });
    expect(a.previous).toMatchObject({ requests: 2, denials: 2, denialRate: 1 });
    // 2 requests are too few to measure a change against (MIN_BASELINE).
    expect(a.change).toEqual({ requestsPct: null, denialsPct: null });
    expect(a.summary).toBe(
      '4 requests in the last day, 1 denied (25.0%); too few requests in the day before to compare (2, fewer than 100).',
    );
    const week = await service.traffic(actor, siteId, 2);
    expect(week.current.requests).toBe(6);
    expect(week.previous.requests).toBe(1);
  });

  it('gives a percentage change only against a baseline of MIN_BASELINE or more', async () => {
    const site = () => newId('site');
    const traffic = (siteId: string, previous: number, recent: number, denied = 0) => [
      ...Array.from({ length: previous }, (_, i) =>
        decision({
          siteId,
          timeMs: NOW.getTime() - DAY - 1 - i,
          ...(i < denied ? { conclusion: 'DENY' as const, reason: 'RATE_LIMITED' as const } : {}),
        }),
      ),
      ...Array.from({ length: recent }, (_, i) =>
        decision({ siteId, timeMs: NOW.getTime() - 1 - i }),
      ),
    ];
    const [enough, thin, single] = [site(), site(), site()];
    await store.insertDecisions([
      ...traffic(enough, MIN_BASELINE, 150, MIN_BASELINE),
      ...traffic(thin, MIN_BASELINE - 1, 6_000),
      ...traffic(single, 0, 1),
    ]);
    const a = await service.traffic(actor, enough, 1);
    expect(a.change).toEqual({ requestsPct: 50, denialsPct: -100 });
    expect(a.summary).toBe(
      '150 requests in the last day, 0 denied (0.0%); requests up 50% on the day before.',
    );
    const b = await service.traffic(actor, thin, 1);
    expect(b.change).toEqual({ requestsPct: null, denialsPct: null });
    expect(b.summary).toBe(
      '6000 requests in the last day, 0 denied (0.0%); too few requests in the day before to compare (99, fewer than 100).',
    );
    const c = await service.traffic(actor, single, 3);
    expect(c.summary).toBe(
      '1 request in the last 3 days, 0 denied (0.0%); no requests in the 3 days before to compare with.',
    );
  });

  it('counts the calendar month against the plan and projects the month end', async () => {
    const teamId = newId('team');
    const nov = (day: number) => Date.UTC(2026, 10, day);
    await store.insertDecisions([
      ...Array.from({ length: 81 }, (_, i) =>
        decision({ teamId, siteId: i < 60 ? siteId : 'site_other', timeMs: nov(1) + i }),
      ),
      // October does not count.
      decision({ teamId, siteId, timeMs: nov(1) - 1 }),
    ]);
    const q = await service.quota(actor, teamId);
    // 24.5 of 30 days have passed on 2026-11-25 12:00 UTC.
    expect(q).toMatchObject({
      plan: 'free',
      month: '2026-11',
      monthlyRequestQuota: 100_000,
      used: 81,
      projected: Math.round(81 / (24.5 / 30)),
      status: 'OK',
      bySite: [
        { siteId, requests: 60 },
        { siteId: 'site_other', requests: 21 },
      ],
      suggestedActions: [],
    });
    expect(q.summary).toBe(
      '81 of 100000 decisions used in 2026-11 (0.1%), about 99 by month end at this pace; status OK.',
    );
  });
});

/** A rule as the service reads it from the database. */
const ruleRow = (
  siteId: string,
  type: RuleEntity['type'],
  mode: RuleEntity['mode'],
  config: object,
): RuleEntity =>
  ({
    id: newId('rule'),
    siteId,
    name: type,
    type,
    mode,
    config,
    createdBy: 'alice',
    updatedBy: 'alice',
    createdAt: new Date(NOW.getTime() - 7 * DAY),
    updatedAt: new Date(NOW.getTime() - 7 * DAY),
  }) as RuleEntity;

/** Readiness and suggestions that depend on the site's rules, on every analytics adapter. */
describe.each(ANALYTICS_ADAPTERS)('AnalyticsService with rules on %s', (_name, open) => {
  let opened: OpenedStore;
  let service: AnalyticsService;
  /** The site's rules as the (fake) database returns them; each test sets its own. */
  let rules: RuleEntity[] = [];
  const TOR_IP = '185.220.101.1';

  beforeAll(async () => {
    opened = await open();
    const access = strictFake<AccessService>(
      {
        requireSite: (() =>
          Promise.resolve({
            site: { teamId: 'team_01jdefaultteam0000000000000' },
          })) as unknown as AccessService['requireSite'],
      },
      'AccessService',
    );
    const dataSource = strictFake<DataSource>(
      {
        getRepository: (() => ({
          find: () => Promise.resolve(rules),
        })) as unknown as DataSource['getRepository'],
      },
      'DataSource',
    );
    const intel = strictFake<IntelService>(
      {
        lookup: (ip: string) => ({
          ip,
          version: 4 as const,
          country: 'DE',
          asn: 60729,
          asOrg: 'Tor exits',
          networkType: 'tor' as const,
          risk: 'high' as const,
          riskReasons: ['TOR_EXIT_LIST' as const],
        }),
      },
      'IntelService',
    );
    service = new AnalyticsService(
      opened.store,
      access,
      { now: () => NOW } satisfies Clock,
      dataSource,
      intel,
    );
  }, 120_000);
  afterAll(() => opened?.cleanup());

  it('judges an email rule by the addresses it denies, not by the network they came from', async () => {
    const siteId = newId('site');
    // Denies throw-away addresses: the rule to promote.
    const good = ruleRow(siteId, 'email', 'DRY_RUN', { deny: ['disposable'] });
    // Also denies free providers: real people's personal mailboxes.
    const mixed = ruleRow(siteId, 'email', 'DRY_RUN', { deny: ['disposable', 'free'] });
    const freeOnly = ruleRow(siteId, 'email', 'DRY_RUN', { deny: ['free'] });
    rules = [good, mixed, freeOnly];
    const dry = (rule: RuleEntity, reason: 'EMAIL_DISPOSABLE' | 'EMAIL_FREE' | 'NOT_MATCHED') => ({
      ruleId: rule.id,
      type: 'email' as const,
      mode: 'DRY_RUN' as const,
      conclusion: reason === 'NOT_MATCHED' ? ('ALLOW' as const) : ('DENY' as const),
      reason,
    });
    // Every sign-up comes from a residential browser, as in the demo: the network heuristic
    // would call each one a real user.
    const signup = (i: number, email: string, results: ReturnType<typeof dry>[]) =>
      decision({
        siteId,
        timeMs: NOW.getTime() - (i + 1) * 60_000,
        ip: `198.51.100.${1 + (i % 200)}`,
        method: 'POST',
        path: '/signup',
        email,
        results,
        dryRunDenials: results.filter((r) => r.conclusion === 'DENY').map((r) => r.ruleId),
      });
    await opened.store.insertDecisions([
      ...Array.from({ length: 1000 }, (_, i) =>
        decision({ siteId, timeMs: NOW.getTime() - (i + 1) * 300_000 }),
      ),
      ...Array.from({ length: 30 }, (_, i) =>
        signup(i, `shopper${i}@mailinator.com`, [
          dry(good, 'EMAIL_DISPOSABLE'),
          dry(mixed, 'EMAIL_DISPOSABLE'),
          dry(freeOnly, 'NOT_MATCHED'),
        ]),
      ),
      ...Array.from({ length: 60 }, (_, i) =>
        signup(30 + i, `shopper${i}@gmail.com`, [
          dry(good, 'NOT_MATCHED'),
          dry(mixed, 'EMAIL_FREE'),
          dry(freeOnly, 'EMAIL_FREE'),
        ]),
      ),
      ...Array.from({ length: 900 }, (_, i) =>
        signup(90 + i, `shopper${i}@example.org`, [
          dry(good, 'NOT_MATCHED'),
          dry(mixed, 'NOT_MATCHED'),
          dry(freeOnly, 'NOT_MATCHED'),
        ]),
      ),
    ]);
    const impact = await service.dryRunImpact(actor, siteId, 7);
    const byRule = new Map(impact.rules.map((r) => [r.ruleId, r]));
    // Measured against the 990 sign-ups with an email, not the 1000 other requests (3 %).
    expect(byRule.get(good.id)).toMatchObject({
      evaluated: 990,
      wouldDeny: 30,
      estimatedFalsePositiveShare: 0,
      verdict: 'READY',
      reasons: ['LOW_FALSE_POSITIVE_SHARE'],
    });
    expect(byRule.get(good.id)?.summary).toContain('out of 990 requests with an email (3.0%)');
    expect(byRule.get(mixed.id)).toMatchObject({
      wouldDeny: 90,
      estimatedFalsePositiveShare: 60 / 90,
      verdict: 'NOT_READY',
      reasons: ['HIGH_FALSE_POSITIVE_SHARE'],
    });
    expect(byRule.get(freeOnly.id)).toMatchObject({
      wouldDeny: 60,
      estimatedFalsePositiveShare: 1,
      verdict: 'NOT_READY',
    });
    expect(impact.suggestedActions).toEqual([
      { tool: 'promote-rule', arguments: { ruleId: good.id }, reason: 'PROMOTE_READY_RULE' },
      {
        tool: 'list-decisions',
        arguments: { siteId, ruleId: mixed.id, conclusion: 'ALLOW' },
        reason: 'REVIEW_WOULD_BE_DENIALS',
      },
      {
        tool: 'list-decisions',
        arguments: { siteId, ruleId: freeOnly.id, conclusion: 'ALLOW' },
        reason: 'REVIEW_WOULD_BE_DENIALS',
      },
    ]);
  });

  it('points investigate-ip at the filter rule that already blocks the IP instead of a new one', async () => {
    const siteId = newId('site');
    const noTor = ruleRow(siteId, 'filter', 'LIVE', {
      action: 'deny',
      match: { networkTypes: ['tor'] },
    });
    await opened.store.insertDecisions(
      Array.from({ length: 5 }, (_, i) =>
        decision({
          siteId,
          timeMs: NOW.getTime() - (i + 1) * HOUR,
          ip: TOR_IP,
          networkType: 'tor',
          conclusion: 'DENY',
          reason: 'FILTER_DENIED',
          ruleId: noTor.id,
        }),
      ),
    );
    const actions = async (siteRules: RuleEntity[]) => {
      rules = siteRules;
      return (await service.investigateIp(actor, siteId, TOR_IP, 7)).suggestedActions;
    };
    const history = {
      tool: 'list-decisions',
      arguments: { siteId, ip: TOR_IP },
      reason: 'SEE_CLIENT_HISTORY',
    };

    // A LIVE filter denies it already: review that rule, do not create another.
    expect(await actions([noTor])).toEqual([
      history,
      { tool: 'get-rule', arguments: { ruleId: noTor.id }, reason: 'INSPECT_DECIDING_RULE' },
    ]);
    // A DRY_RUN filter would deny it: see whether it is ready to promote.
    const pending = ruleRow(siteId, 'filter', 'DRY_RUN', {
      action: 'deny',
      match: { ips: ['185.220.101.0/24'] },
    });
    expect(await actions([pending])).toEqual([
      history,
      {
        tool: 'get-dry-run-impact',
        arguments: { siteId, ruleId: pending.id },
        reason: 'SEE_DRY_RUN_IMPACT',
      },
    ]);
    // A filter that blocks it on some paths only, or one that does not match it, is no block.
    const adminOnly = ruleRow(siteId, 'filter', 'LIVE', {
      action: 'deny',
      match: { networkTypes: ['tor'], pathPrefixes: ['/admin'] },
    });
    const hosting = ruleRow(siteId, 'filter', 'LIVE', {
      action: 'deny',
      match: { networkTypes: ['hosting'] },
    });
    expect(await actions([adminOnly, hosting])).toEqual([
      history,
      {
        tool: 'create-rule',
        arguments: {
          siteId,
          rule: {
            name: `Block ${TOR_IP}`,
            type: 'filter',
            config: { action: 'deny', match: { ips: [TOR_IP] } },
          },
        },
        reason: 'BLOCK_CLIENT_IN_DRY_RUN',
      },
    ]);
    // An allow-list that the IP falls outside of blocks it too.
    const franceOnly = ruleRow(siteId, 'filter', 'LIVE', {
      action: 'allow',
      match: { countries: ['FR'] },
    });
    expect((await actions([franceOnly]))[1]).toMatchObject({ tool: 'get-rule' });
  });
});
