import { DataSource } from 'typeorm';
import { IntelService } from '../../src/intel/intel.service';
import { AnalyticsService } from '../../src/analytics/analytics.service';
import { DuckDbStore } from '../../src/analytics/duckdb/duckdb.store';
import { AccessService } from '../../src/auth/access.service';
import { Actor } from '../../src/auth/actor';
import { Clock } from '../../src/common/clock';
import { newId } from '../../src/common/ids';
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
    expect(a.change).toEqual({ requestsPct: 100, denialsPct: -50 });
    expect(a.summary).toBe(
      '4 requests in the last 1 day, 1 denied (25.0%); requests up 100% on the 1 day before.',
    );
    const week = await service.traffic(actor, siteId, 2);
    expect(week.current.requests).toBe(6);
    expect(week.previous.requests).toBe(1);
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
