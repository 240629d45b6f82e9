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
/** About 4,000 tokens, in bytes of UTF-8 JSON. */
const BUDGET = 16_000;
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
const actor: Actor = { subject: 'alice', scopes: ['bulwark:read'], via: 'rest' };

/**
 * Every analysis stays under the output budget however much data there is: thousands of
 * distinct IPs, paths and bot user agents near the input size limits, in characters of three and
 * four bytes (what a budget counted in characters would let through four times over), as many
 * DRY_RUN rules as a site may have.
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
      path: `/${'路'.repeat(2729)}${i}`,
      query: '🤖'.repeat(4096),
      host: 'h'.repeat(255),
      userAgent: '語'.repeat(512),
      headers: Object.fromEntries(
        ['user-agent', 'referer', 'origin', 'accept', 'accept-language', 'content-type'].map(
          (h) => [h, '値'.repeat(512)],
        ),
      ),
      email: `${'é'.repeat(120)}@example.com`,
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
    const long = (i: number) => `/${'路'.repeat(1300)}/${i}`;
    const rows = Array.from({ length: 6000 }, (_, i) =>
      decision({
        siteId,
        teamId,
        timeMs: NOW - (i % 48) * 3_600_000 - 1000,
        ip: `198.${i % 200}.${(i * 7) % 250}.${1 + (i % 250)}`,
        path: long(i),
        userAgent: `Bot-${i} ${'🤖'.repeat(500)}`,
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
    expect(bytes(await run())).toBeLessThan(BUDGET);
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
      expect(bytes(page)).toBeLessThan(BUDGET);
      expect(page.items.length).toBeGreaterThan(0);
      const path = page.items[0].requestData.path;
      expect(Buffer.byteLength(path)).toBeLessThanOrEqual(256);
      expect(path).toMatch(/^\/路+…$/);
      seen.push(...page.items.map((d) => d.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBeGreaterThan(5);
    expect(seen).toEqual(worst.map((d) => d.id).reverse());
  }, 60_000);
});
