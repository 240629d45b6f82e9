import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module';
import { AnalyticsService } from '../../src/analytics/analytics.service';
import { Actor } from '../../src/auth/actor';
import { SimulatedClock } from '../../src/common/clock';
import { AuditService } from '../../src/audit/audit.service';
import { parseSiteId, parseTeamId } from '../../src/common/ids';
import { loadConfig } from '../../src/config/config';
import { ListDecisionsQuery } from '../../src/decisions/decisions.schemas';
import { DecisionsService } from '../../src/decisions/decisions.service';
import { DemoService } from '../../src/demo/demo.service';
import { RulesService } from '../../src/rules/rules.service';
import { SitesService } from '../../src/sites/sites.service';
import { TeamsService } from '../../src/teams/teams.service';

/**
 * The demo generator through the real decide path, then the analyst tools on what it made: the
 * planted stories (attacks, a spike, a new bot, Tor, throw-away sign-ups) must be there to find.
 */
describe('bulwark demo', () => {
  let app: INestApplicationContext;
  let result: Awaited<ReturnType<DemoService['seed']>>;
  const owner: Actor = { subject: 'demo-owner', scopes: ['bulwark:read'], via: 'rest' };
  const clock = new SimulatedClock();
  const DAYS = 29;
  let seededAt: number;

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(
      AppModule.forRoot(loadConfig({ DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }), { clock }),
      { logger: false },
    );
    seededAt = Date.now();
    result = await app.get(DemoService).seed({ owner: 'demo-owner', decisions: 20000, days: DAYS });
    // Analyses look back from "now", not from the last simulated request; 29 days of traffic
    // sit inside their 30-day window whatever the hour alignment.
    clock.set(Date.now());
  }, 120_000);
  afterAll(() => app?.close());

  it('generates the requested traffic through the decide engine', async () => {
    expect(result.decisions).toBeGreaterThan(19900);
    expect(result.decisions).toBeLessThanOrEqual(20000);
    const analytics = app.get(AnalyticsService);
    const month = await analytics.traffic(owner, parseSiteId(result.siteId), 30);
    expect(month.current.requests).toBe(result.decisions);
    expect(month.current.denials).toBe(result.denied);
    const reasons = month.topDenialReasons.map((r) => r.reason);
    expect(reasons).toEqual(
      expect.arrayContaining(['SQL_INJECTION', 'FILTER_DENIED', 'RATE_LIMITED']),
    );
  });

  it('plants a spike and a new bot in the last day, and dry-run rules with something to measure', async () => {
    const analytics = app.get(AnalyticsService);
    const siteId = parseSiteId(result.siteId);
    const anomalies = await analytics.anomalies(owner, siteId, 24);
    expect(anomalies.spikes.length).toBeGreaterThan(0);
    expect(anomalies.newBotSignatures.map((b) => b.requestData.userAgent)).toContain(
      'NovaCrawler/1.0 (+https://nova-crawler.example/bot)',
    );
    const dryRun = await analytics.dryRunImpact(owner, siteId, 30);
    expect(dryRun.rules.map((r) => r.type).sort()).toEqual(['bot', 'email']);
    for (const rule of dryRun.rules) expect(rule.wouldDeny).toBeGreaterThan(0);
    const tor = await analytics.investigateIp(owner, siteId, '185.220.101.7', 30);
    expect(tor.intel).toMatchObject({ networkType: 'tor', risk: 'high' });
    const briefing = await analytics.briefing(owner, siteId);
    expect(briefing.rules).toMatchObject({ live: 3, dryRun: 2 });
    expect(JSON.stringify(briefing).length).toBeLessThan(16_000);
  });

  it('tells one timeline: team and site first, then the rules, then traffic within the period', async () => {
    const siteId = parseSiteId(result.siteId);
    const teamId = parseTeamId(result.teamId);
    const team = await app.get(TeamsService).get(owner, teamId);
    const site = await app.get(SitesService).get(owner, siteId);
    const rules = (await app.get(RulesService).list(owner, siteId, { limit: 100 })).items;
    const ms = (iso: string) => Date.parse(iso);
    expect(ms(team.createdAt)).toBeLessThanOrEqual(ms(site.createdAt));
    expect(ms(site.keyRotatedAt)).toBe(ms(site.createdAt));
    expect(rules).toHaveLength(5);
    const rulesFrom = Math.min(...rules.map((r) => ms(r.createdAt)));
    expect(rulesFrom).toBeGreaterThan(ms(site.createdAt));
    for (const rule of rules) expect(ms(rule.updatedAt)).toBeGreaterThanOrEqual(ms(rule.createdAt));

    // No request before the last rule existed, none before the period began.
    const lastRule = Math.max(...rules.map((r) => ms(r.createdAt)));
    const decisions = app.get(DecisionsService);
    const before = (to: number) =>
      decisions.list(
        owner,
        siteId,
        ListDecisionsQuery.parse({ limit: 1, to: new Date(to).toISOString() }),
      );
    expect((await before(lastRule + 1)).items).toEqual([]);
    expect((await before(seededAt - DAYS * 86_400_000)).items).toEqual([]);
    expect((await before(lastRule + 2 * 3_600_000)).items).not.toEqual([]);

    // The audit trail tells the same story, down to the snapshots it keeps.
    const audit = (await app.get(AuditService).list(owner, teamId, { limit: 100 })).items;
    const created = (action: string) => audit.filter((e) => e.action === action);
    expect(created('team.created').map((e) => e.createdAt)).toEqual([team.createdAt]);
    expect(created('site.created').map((e) => e.createdAt)).toEqual([site.createdAt]);
    expect(created('site.created')[0].after).toMatchObject({ createdAt: site.createdAt });
    for (const rule of rules) {
      const entries = audit.filter((e) => e.resourceId === rule.id);
      expect(entries.length).toBeGreaterThan(0);
      for (const entry of entries) {
        expect(entry.createdAt).toBe(rule.createdAt);
        expect(entry.after).toMatchObject({ createdAt: rule.createdAt, updatedAt: rule.updatedAt });
      }
    }
  });
});
