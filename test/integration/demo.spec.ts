import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../src/app.module';
import { AnalyticsService } from '../../src/analytics/analytics.service';
import { Actor } from '../../src/auth/actor';
import { SimulatedClock } from '../../src/common/clock';
import { parseSiteId } from '../../src/common/ids';
import { loadConfig } from '../../src/config/config';
import { DemoService } from '../../src/demo/demo.service';

/**
 * The demo generator through the real decide path, then the analyst tools on what it made: the
 * planted stories (attacks, a spike, a new bot, Tor, throw-away sign-ups) must be there to find.
 */
describe('bulwark demo', () => {
  let app: INestApplicationContext;
  let result: Awaited<ReturnType<DemoService['seed']>>;
  const owner: Actor = { subject: 'demo-owner', scopes: ['bulwark:read'], via: 'rest' };
  const clock = new SimulatedClock();

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(
      AppModule.forRoot(loadConfig({ DATA_DIR: 'memory://', LOG_LEVEL: 'silent' }), { clock }),
      { logger: false },
    );
    result = await app.get(DemoService).seed({ owner: 'demo-owner', decisions: 20000, days: 29 });
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
});
