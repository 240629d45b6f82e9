import { DataSource } from 'typeorm';
import { AnalyticsService } from '../../src/analytics/analytics.service';
import { DuckDbStore } from '../../src/analytics/duckdb/duckdb.store';
import { AccessService } from '../../src/auth/access.service';
import { Actor } from '../../src/auth/actor';
import { newId } from '../../src/common/ids';
import { DecisionsService } from '../../src/decisions/decisions.service';
import { DecisionsTools } from '../../src/decisions/decisions.tools';
import { defaultIntelPaths, IntelService } from '../../src/intel/intel.service';
import { RuleEntity } from '../../src/rules/rule.entity';
import { MAX_RULES_PER_SITE } from '../../src/rules/rules.schemas';
import { decision } from '../support/decisions';
import { strictFake } from '../support/strict-fake';

const NOW = Date.UTC(2026, 10, 25, 12);
/** About 4,000 tokens. */
const BUDGET = 16_000;
const actor: Actor = { subject: 'alice', scopes: ['bulwark:read'], via: 'rest' };

/**
 * Every analysis stays under the output budget however much data there is: thousands of
 * distinct IPs, paths and bot user agents near the input size limits, as many DRY_RUN rules as a
 * site may have.
 */
describe('output budget', () => {
  const siteId = newId('site');
  const teamId = newId('team');
  const dryRules = Array.from({ length: MAX_RULES_PER_SITE }, (_, i) => ({
    id: newId('rule'),
    siteId,
    type: 'filter',
    mode: 'DRY_RUN',
    createdAt: new Date(NOW - 30 * 86_400_000 - i),
  })) as unknown as RuleEntity[];
  let store: DuckDbStore;
  let service: AnalyticsService;
  let decisionTools: DecisionsTools;
  /** Decisions at every input limit: the longest path, query, headers and e-mail, 50 rules (the most a site has). */
  const worst = Array.from({ length: 40 }, (_, i) =>
    decision({
      siteId,
      teamId,
      timeMs: NOW - 3_600_000 + i,
      ip: '192.0.2.77',
      path: `/${'p'.repeat(8190)}${i}`,
      query: 'q'.repeat(16_384),
      host: 'h'.repeat(255),
      userAgent: 'u'.repeat(512),
      headers: Object.fromEntries(
        ['user-agent', 'referer', 'origin', 'accept', 'accept-language', 'content-type'].map(
          (h) => [h, 'v'.repeat(512)],
        ),
      ),
      email: `${'e'.repeat(240)}@example.com`,
      conclusion: 'DENY',
      reason: 'SQL_INJECTION',
      ruleId: dryRules[0].id,
      results: Array.from({ length: 50 }, (_, r) => ({
        ruleId: newId('rule'),
        type: 'shield' as const,
        mode: r % 2 ? ('DRY_RUN' as const) : ('LIVE' as const),
        conclusion: 'DENY' as const,
        reason: 'SQL_INJECTION' as const,
      })),
      dryRunDenials: Array.from({ length: 25 }, () => newId('rule')),
    }),
  );

  beforeAll(async () => {
    store = await DuckDbStore.open(':memory:');
    await store.migrate();
    const access = strictFake<AccessService>(
      {
        requireSite: (() =>
          Promise.resolve({
            site: { teamId },
            team: { plan: 'free' },
          })) as unknown as AccessService['requireSite'],
        requireTeam: (() =>
          Promise.resolve({ team: { plan: 'free' } })) as unknown as AccessService['requireTeam'],
      },
      'AccessService',
    );
    // Only the first page is read here; the e2e tests page through real rules.
    const repository = {
      find: (q: { take?: number }) => Promise.resolve(dryRules.slice(0, q.take)),
    };
    const dataSource = strictFake<DataSource>(
      { getRepository: (() => repository) as unknown as DataSource['getRepository'] },
      'DataSource',
    );
    service = new AnalyticsService(
      store,
      access,
      { now: () => new Date(NOW) },
      dataSource,
      IntelService.load(defaultIntelPaths()),
    );
    const long = (i: number) => `/${'x'.repeat(4000)}/${i}`;
    const rows = Array.from({ length: 6000 }, (_, i) =>
      decision({
        siteId,
        teamId,
        timeMs: NOW - (i % 48) * 3_600_000 - 1000,
        ip: `198.${i % 200}.${(i * 7) % 250}.${1 + (i % 250)}`,
        path: long(i),
        userAgent: `Bot-${i} ${'y'.repeat(2000)}`,
        botCategory: 'scraper',
        country: ['DE', 'US', 'FR', 'BR', 'IN', 'JP', 'GB', 'NL', 'SE', 'PL', 'IT', 'ES'][i % 12],
        conclusion: i % 3 ? 'ALLOW' : 'DENY',
        reason: i % 3 ? 'NO_RULE_DENIED' : 'SQL_INJECTION',
        dryRunDenials: dryRules.slice(0, 1 + (i % 25)).map((r) => r.id),
      }),
    );
    for (let i = 0; i < rows.length; i += 1000)
      await store.insertDecisions(rows.slice(i, i + 1000));
    await store.insertDecisions(worst);
    decisionTools = new DecisionsTools(new DecisionsService(store, access));
  }, 120_000);
  afterAll(() => store.close());

  it.each([
    ['analyze-traffic', () => service.traffic(actor, siteId, 30)],
    ['get-anomalies', () => service.anomalies(actor, siteId, 24)],
    ['get-dry-run-impact', () => service.dryRunImpact(actor, siteId, 30)],
    ['investigate-ip', () => service.investigateIp(actor, siteId, '198.1.7.2', 30)],
    ['get-quota', () => service.quota(actor, teamId)],
    ['get-security-briefing', () => service.briefing(actor, siteId)],
    ['explain-decision', () => decisionTools.explainDecision(actor, { decisionId: worst[0].id })],
  ] as const)('%s stays under the budget', async (_tool, run) => {
    const size = JSON.stringify(await run()).length;
    expect(size).toBeLessThan(BUDGET);
  });

  it('list-decisions ends each page within the budget and its cursor continues without loss', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await decisionTools.listDecisions(actor, {
        siteId,
        limit: 100,
        ip: '192.0.2.77',
        ...(cursor ? { cursor } : {}),
      });
      expect(JSON.stringify(page).length).toBeLessThan(BUDGET);
      expect(page.items.length).toBeGreaterThan(0);
      expect(page.items[0].requestData.path).toHaveLength(256);
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(5);
    expect(seen).toEqual(worst.map((d) => d.id).reverse());
  }, 60_000);
});
