import type { AnalyticsStore, DecisionRecord } from '../../src/analytics/analytics.port';
import { ANALYTICS_ADAPTERS, OpenedStore } from '../support/analytics-stores';
import { decision } from '../support/decisions';

/** Strings an attacker might send in any request field; stores must keep them as plain data. */
const HOSTILE = [
  "'; DROP TABLE decisions; --",
  "\\'; SELECT 1; --",
  'a\\b\\\\c',
  'O\'Brien "quoted" `tick`',
  'line\nbreak\ttab\rreturn',
  'nul\u0000byte',
  '{name:String} {{x}} ${x} %s ? $1',
  '🙂 ünïcödé 中文 עברית',
  '\u202eright-to-left override',
];

const SITE_A = 'site_01jaaaaaaaaaaaaaaaaaaaaaaa';
/** The same limit for every top list of a traffic summary. */
const top = (n: number) => ({ paths: n, ips: n, reasons: n });
const SITE_B = 'site_01jbbbbbbbbbbbbbbbbbbbbbbb';

describe.each(ANALYTICS_ADAPTERS)('analytics store contract: %s', (_name, open) => {
  let opened: OpenedStore;
  let store: AnalyticsStore;

  beforeAll(async () => {
    opened = await open();
    store = opened.store;
  }, 120_000);
  afterAll(() => opened?.cleanup());

  it('round-trips a decision exactly, nulls and nested data included', async () => {
    const full = decision({
      siteId: SITE_A,
      email: 'someone@example.org',
      botCategory: 'http_client',
      conclusion: 'DENY',
      reason: 'SQL_INJECTION',
      ruleId: 'rule_01jshieldshieldshieldshield',
      results: [
        {
          ruleId: 'rule_01jshieldshieldshieldshield',
          type: 'shield',
          mode: 'LIVE',
          conclusion: 'DENY',
          reason: 'SQL_INJECTION',
        },
      ],
      dryRunDenials: ['rule_01jdryrundryrundryrundryrun'],
    });
    const bare = decision({ siteId: SITE_A, country: null, asn: null, asOrg: null });
    await store.insertDecisions([full, bare]);
    expect(await store.getDecision(full.id)).toEqual(full);
    expect(await store.getDecision(bare.id)).toEqual(bare);
    expect(await store.getDecision('req_01jnotstorednotstorednotstor')).toBeNull();
  });

  it('stores hostile strings in every field as plain data', async () => {
    const rows: DecisionRecord[] = HOSTILE.map((s) =>
      decision({
        siteId: SITE_A,
        host: s,
        path: `/${s}`,
        query: s,
        userAgent: s,
        headers: { 'x-evil': s, [s.slice(0, 8)]: 'v' },
        email: s,
        asOrg: s,
      }),
    );
    await store.insertDecisions(rows);
    for (const row of rows) expect(await store.getDecision(row.id)).toEqual(row);
    expect(await store.listDecisions({ siteId: SITE_A, ip: HOSTILE[0], limit: 10 })).toEqual([]);
    expect(await store.listDecisions({ siteId: HOSTILE[0], limit: 10 })).toEqual([]);
    expect(await store.getDecision(HOSTILE[0])).toBeNull();
  });

  it('stores a repeated batch once', async () => {
    const batch = [decision({ siteId: SITE_B }), decision({ siteId: SITE_B })];
    await store.insertDecisions(batch);
    await store.insertDecisions(batch);
    await store.insertDecisions([batch[1], decision({ siteId: SITE_B })]);
    expect(await store.countByIds(batch.map((d) => d.id))).toEqual({ distinct: 2, rows: 2 });
  });

  describe('listDecisions', () => {
    const site = 'site_01jlistlistlistlistlistlist';
    const t0 = Date.UTC(2026, 10, 1);
    const rows = Array.from({ length: 12 }, (_, i) =>
      decision({
        siteId: site,
        timeMs: t0 + i * 60_000,
        ip: i % 3 === 0 ? '198.51.100.1' : '2001:db8::1',
        path: i % 2 === 0 ? '/api/100%_off' : '/api/other',
        conclusion: i % 4 === 0 ? 'DENY' : 'ALLOW',
        reason: i % 4 === 0 ? 'RATE_LIMITED' : 'NO_RULE_DENIED',
        ruleId: i % 4 === 0 ? 'rule_01jlivelivelivelivelivelive' : null,
        dryRunDenials: i % 5 === 0 ? ['rule_01jdrydrydrydrydrydrydrydr'] : [],
      }),
    );
    // Ids are time-ordered TypeIDs; the newest decision has the greatest id.
    const newestFirst = [...rows].sort((a, b) => (a.id < b.id ? 1 : -1));
    const ids = (list: DecisionRecord[]) => list.map((d) => d.id);

    beforeAll(() => store.insertDecisions(rows));

    it('lists one site only, newest first, and pages with beforeId', async () => {
      const first = await store.listDecisions({ siteId: site, limit: 5 });
      expect(ids(first)).toEqual(ids(newestFirst.slice(0, 5)));
      const second = await store.listDecisions({ siteId: site, limit: 5, beforeId: first[4].id });
      expect(ids(second)).toEqual(ids(newestFirst.slice(5, 10)));
      const last = await store.listDecisions({ siteId: site, limit: 5, beforeId: second[4].id });
      expect(ids(last)).toEqual(ids(newestFirst.slice(10)));
    });

    it('filters by conclusion, ip, path prefix (literally), rule and time', async () => {
      const expectFilter = async (
        filter: Partial<Parameters<AnalyticsStore['listDecisions']>[0]>,
        keep: (d: DecisionRecord) => boolean,
      ) => {
        const got = await store.listDecisions({ siteId: site, limit: 100, ...filter });
        expect(ids(got)).toEqual(ids(newestFirst.filter(keep)));
      };
      await expectFilter({ conclusion: 'DENY' }, (d) => d.conclusion === 'DENY');
      await expectFilter({ ip: '2001:db8::1' }, (d) => d.ip === '2001:db8::1');
      await expectFilter({ pathPrefix: '/api/100%_' }, (d) => d.path.startsWith('/api/100%_'));
      await expectFilter({ pathPrefix: '/api/1_' }, () => false);
      await expectFilter(
        { ruleId: 'rule_01jlivelivelivelivelivelive' },
        (d) => d.ruleId === 'rule_01jlivelivelivelivelivelive',
      );
      await expectFilter({ ruleId: 'rule_01jdrydrydrydrydrydrydrydr' }, (d) =>
        d.dryRunDenials.includes('rule_01jdrydrydrydrydrydrydrydr'),
      );
      await expectFilter(
        { fromMs: t0 + 3 * 60_000, toMs: t0 + 7 * 60_000 },
        (d) => d.timeMs >= t0 + 3 * 60_000 && d.timeMs < t0 + 7 * 60_000,
      );
      await expectFilter(
        { conclusion: 'ALLOW', ip: '198.51.100.1', pathPrefix: '/api/o' },
        (d) => d.conclusion === 'ALLOW' && d.ip === '198.51.100.1' && d.path.startsWith('/api/o'),
      );
    });
  });

  describe('traffic analysis', () => {
    const site = 'site_01jtraffictraffictraffict';
    const t0 = Date.UTC(2026, 10, 10);
    const hour = 3_600_000;
    const at = (i: number) => t0 + i * 1000;
    const deny = (reason: 'SQL_INJECTION' | 'RATE_LIMITED') => ({
      conclusion: 'DENY' as const,
      reason,
      ruleId: 'rule_01jlivelivelivelivelivelive',
    });
    const v4a = { ip: '198.51.100.1', country: 'DE', asn: 3320, networkType: 'residential' };
    const v4b = { ip: '198.51.100.2', country: 'US', asn: 16509, networkType: 'hosting' };
    const v6 = { ip: '2001:db8::1', country: null, asn: null, networkType: 'unknown' };
    const rows = [
      decision({ siteId: site, timeMs: at(1), path: '/a', ...v4a }),
      decision({ siteId: site, timeMs: at(2), path: '/a', ...v4a }),
      decision({ siteId: site, timeMs: at(3), path: '/a', ...v4b, ...deny('SQL_INJECTION') }),
      decision({ siteId: site, timeMs: at(4), path: '/b', ...v4b, ...deny('SQL_INJECTION') }),
      decision({ siteId: site, timeMs: at(5), path: '/b', ...v4a, ...deny('RATE_LIMITED') }),
      decision({ siteId: site, timeMs: at(6), path: '/c', ...v6 }),
      decision({ siteId: site, timeMs: at(7), path: '/d', ...v6 }),
      // Outside the range (its end is exclusive) and another site: never counted.
      decision({ siteId: site, timeMs: t0 + hour, path: '/a', ...v4a }),
      decision({ siteId: site, timeMs: t0 - 1, path: '/a', ...v4a }),
      decision({ siteId: 'site_01jotherotherotherotherothe', timeMs: at(1), path: '/a' }),
      // The hour before: counted in the previous range's totals only.
      decision({ siteId: site, timeMs: t0 - 2, path: '/z', ...v4b, ...deny('RATE_LIMITED') }),
      decision({ siteId: site, timeMs: t0 - hour - 1, path: '/a', ...v4a }),
    ];
    const range = { siteId: site, fromMs: t0, toMs: t0 + hour };
    const c = { ...range, previousFromMs: t0 - hour };

    beforeAll(() => store.insertDecisions(rows));

    it('counts requests and denials in the range and the one before only', async () => {
      expect(await store.trafficSummary(c, top(3))).toMatchObject({
        requests: 7,
        denials: 3,
        previous: { requests: 2, denials: 1 },
      });
      expect(
        await store.trafficSummary({ ...c, siteId: 'site_01jnothingnothingnothingnot' }, top(3)),
      ).toEqual({
        requests: 0,
        denials: 0,
        previous: { requests: 0, denials: 0 },
        topPaths: [],
        topIps: [],
        topDenialReasons: [],
      });
    });

    it('ranks the networks behind denials', async () => {
      expect(await store.deniedNetworks(range, 5)).toEqual([
        { asn: 16509, asOrg: 'Deutsche Telekom AG', networkType: 'hosting', denials: 2 },
        { asn: 3320, asOrg: 'Deutsche Telekom AG', networkType: 'residential', denials: 1 },
      ]);
    });

    it('ranks paths, IPs and denial reasons by count, ties by value', async () => {
      expect(await store.trafficSummary(c, top(3))).toEqual({
        requests: 7,
        denials: 3,
        previous: { requests: 2, denials: 1 },
        topPaths: [
          { path: '/a', requests: 3, denials: 1 },
          { path: '/b', requests: 2, denials: 2 },
          { path: '/c', requests: 1, denials: 0 },
        ],
        topIps: [
          { ...v4a, requests: 3, denials: 1 },
          { ...v4b, requests: 2, denials: 2 },
          { ...v6, requests: 2, denials: 0 },
        ],
        topDenialReasons: [
          { reason: 'SQL_INJECTION', count: 2 },
          { reason: 'RATE_LIMITED', count: 1 },
        ],
      });
      const one = await store.trafficSummary(c, top(1));
      expect([one.topPaths, one.topIps, one.topDenialReasons].map((l) => l.length)).toEqual([
        1, 1, 1,
      ]);
      expect(one.topDenialReasons).toEqual([{ reason: 'SQL_INJECTION', count: 2 }]);
      // A limit of 0 leaves that list out and nothing else.
      const noPaths = await store.trafficSummary(c, { paths: 0, ips: 3, reasons: 3 });
      expect(noPaths.topPaths).toEqual([]);
      expect(noPaths).toEqual({ ...(await store.trafficSummary(c, top(3))), topPaths: [] });
    });
  });

  describe('dry-run impact', () => {
    const site = 'site_01jdryrundryrundryrundryru';
    const dry = 'rule_01jdryrunruledryrunruledry';
    const other = 'rule_01jotherdryrunotherdryrunot';
    const t0 = Date.UTC(2026, 10, 12);
    const range = { siteId: site, fromMs: t0, toMs: t0 + 3_600_000 };
    let n = 0;
    const row = (o: Partial<DecisionRecord>) => decision({ siteId: site, timeMs: t0 + ++n, ...o });
    const resident = { ip: '198.51.100.10', networkType: 'residential', country: 'DE' };
    const hosting = { ip: '203.0.113.50', networkType: 'hosting', country: 'US' };
    const attacker = { ip: '203.0.113.66', networkType: 'hosting', country: 'NL' };
    const liveDeny = {
      conclusion: 'DENY' as const,
      reason: 'SQL_INJECTION' as const,
      ruleId: 'rule_01jlivelivelivelivelivelive',
    };
    const rows = [
      // Would be denied, allowed live: a real-looking user (residential, no bot, never denied).
      row({ ...resident, path: '/login', dryRunDenials: [dry] }),
      row({ ...resident, path: '/login', dryRunDenials: [dry] }),
      // Would be denied: a bot on a residential network is not counted as legitimate.
      row({
        ...resident,
        ip: '198.51.100.11',
        botCategory: 'scraper',
        path: '/x',
        dryRunDenials: [dry],
      }),
      // Would be denied: a hosting IP.
      row({ ...hosting, path: '/login', dryRunDenials: [dry, other] }),
      // Would be denied, residential, but this IP was denied live elsewhere in the range.
      row({ ...resident, ip: '198.51.100.12', path: '/y', dryRunDenials: [dry] }),
      row({ ...resident, ip: '198.51.100.12', path: '/y', ...liveDeny }),
      // Would be denied, and was denied live anyway.
      row({ ...attacker, path: '/search', ...liveDeny, dryRunDenials: [dry] }),
      // Not touched by the rule.
      row({ ...resident, path: '/home' }),
      row({ ...hosting, path: '/home', dryRunDenials: [other] }),
      // Outside the range.
      decision({ siteId: site, timeMs: t0 - 1, dryRunDenials: [dry] }),
    ];

    beforeAll(() => store.insertDecisions(rows));

    it('counts what promoting the rule would change, exactly', async () => {
      const none = 'rule_01jnonenonenonenonenonenone';
      const windows = [dry, other, none].map((ruleId) => ({ ruleId, fromMs: t0 }));
      const [impact, otherImpact, noneImpact] = await store.dryRunImpacts(
        site,
        range.toMs,
        windows,
        2,
      );
      expect(impact).toEqual({
        evaluated: 9,
        wouldDeny: 5,
        alsoDeniedLive: 1,
        likelyLegitimate: 2,
        topIps: [
          { ip: '198.51.100.10', count: 2, country: 'DE', networkType: 'residential' },
          { ip: '198.51.100.11', count: 1, country: 'DE', networkType: 'residential' },
        ],
        topPaths: [
          { path: '/login', count: 3 },
          { path: '/x', count: 1 },
        ],
      });
      expect(otherImpact).toMatchObject({ wouldDeny: 2, alsoDeniedLive: 0, likelyLegitimate: 0 });
      expect(noneImpact).toEqual({
        evaluated: 9,
        wouldDeny: 0,
        alsoDeniedLive: 0,
        likelyLegitimate: 0,
        topIps: [],
        topPaths: [],
      });
      expect(await store.dryRunImpacts(site, range.toMs, [], 5)).toEqual([]);
    });

    it('measures each rule over its own window in one call, in the order asked', async () => {
      const site2 = 'site_01jwindowswindowswindowswi';
      const early = 'rule_01jearlyearlyearlyearlyea';
      const late = 'rule_01jlatelatelatelatelatela';
      const a = { ip: '198.51.100.20', networkType: 'residential', country: 'DE' };
      const b = { ip: '198.51.100.21', networkType: 'residential', country: 'FR' };
      const at = (ms: number, o: Partial<DecisionRecord>) =>
        decision({ siteId: site2, timeMs: t0 + ms, ...o });
      await store.insertDecisions([
        // A is denied live before the late rule's window starts, and never inside it.
        at(1, { ...a, ...liveDeny }),
        at(2, { ...a, path: '/a', dryRunDenials: [early, late] }),
        at(11, { ...a, path: '/a', dryRunDenials: [early, late] }),
        at(12, { ...b, path: '/b', dryRunDenials: [late] }),
        at(13, { ...attacker, ...liveDeny, dryRunDenials: [early] }),
      ]);
      const [lateImpact, earlyImpact] = await store.dryRunImpacts(
        site2,
        t0 + 100,
        [
          { ruleId: late, fromMs: t0 + 10 },
          { ruleId: early, fromMs: t0 },
        ],
        1,
      );
      expect(lateImpact).toEqual({
        evaluated: 3,
        wouldDeny: 2,
        alsoDeniedLive: 0,
        likelyLegitimate: 2,
        topIps: [{ ip: a.ip, count: 1, country: 'DE', networkType: 'residential' }],
        topPaths: [{ path: '/a', count: 1 }],
      });
      expect(earlyImpact).toEqual({
        evaluated: 5,
        wouldDeny: 2,
        alsoDeniedLive: 1,
        likelyLegitimate: 0,
        topIps: [{ ip: a.ip, count: 2, country: 'DE', networkType: 'residential' }],
        topPaths: [{ path: '/a', count: 2 }],
      });
      // Without lists, the counts are the same.
      const [countsOnly] = await store.dryRunImpacts(
        site2,
        t0 + 100,
        [{ ruleId: late, fromMs: t0 + 10 }],
        0,
      );
      expect(countsOnly).toEqual({ ...lateImpact, topIps: [], topPaths: [] });
    });

    it('counts only the requests with an email in an email-only window', async () => {
      const site3 = 'site_01jemailemailemailemailemai';
      const email = 'rule_01jemailruleemailruleemailr';
      const shield = 'rule_01jshieldruleshieldruleshie';
      const at = (ms: number, o: Partial<DecisionRecord>) =>
        decision({ siteId: site3, timeMs: t0 + ms, ...resident, ...o });
      await store.insertDecisions([
        at(1, { email: 'a@mailinator.com', dryRunDenials: [email] }),
        at(2, { email: 'b@example.org' }),
        at(3, { email: 'c@example.org', dryRunDenials: [shield] }),
        at(4, { dryRunDenials: [shield] }),
        at(5, {}),
        // An empty email reads back as none on both stores: it is not counted.
        at(6, { email: '' }),
        // Before the windows.
        at(-1, { email: 'd@example.org' }),
      ]);
      const windows = [
        { ruleId: email, fromMs: t0, emailOnly: true },
        { ruleId: shield, fromMs: t0 },
        { ruleId: 'rule_01jlateemaillateemaillateema', fromMs: t0 + 2, emailOnly: true },
      ];
      const [emailImpact, shieldImpact, lateEmail] = await store.dryRunImpacts(
        site3,
        t0 + 100,
        windows,
        0,
      );
      expect(emailImpact).toMatchObject({ evaluated: 3, wouldDeny: 1 });
      expect(shieldImpact).toMatchObject({ evaluated: 6, wouldDeny: 2 });
      expect(lateEmail).toMatchObject({ evaluated: 2, wouldDeny: 0 });
      // No decisions at all: zero, not null.
      const [empty] = await store.dryRunImpacts(
        'site_01jemptyemptyemptyemptyempty',
        t0 + 100,
        [{ ruleId: email, fromMs: t0, emailOnly: true }],
        0,
      );
      expect(empty.evaluated).toBe(0);
    });
  });

  describe('IP activity', () => {
    const team = 'team_01jipipipipipipipipipipipipi';
    const siteA = 'site_01jipsiteaipsiteaipsiteaips';
    const siteB = 'site_01jipsitebipsitebipsitebips';
    const ip = '192.0.2.44';
    const t0 = Date.UTC(2026, 10, 14);
    const range = { siteId: siteA, fromMs: t0, toMs: t0 + 3_600_000 };
    const live = 'rule_01jliveipliveipliveipliveip';
    const dryA = 'rule_01jdryadryadryadryadryadrya';
    const dryB = 'rule_01jdrybdrybdrybdrybdrybdryb';
    const row = (o: Partial<DecisionRecord>) => decision({ teamId: team, siteId: siteA, ip, ...o });

    beforeAll(() =>
      store.insertDecisions([
        row({ timeMs: t0 + 10, path: '/login', dryRunDenials: [dryA] }),
        row({ timeMs: t0 + 20, path: '/login', dryRunDenials: [dryA, dryB] }),
        row({
          timeMs: t0 + 30,
          path: '/admin',
          conclusion: 'DENY',
          reason: 'FILTER_DENIED',
          ruleId: live,
          dryRunDenials: [dryA],
        }),
        row({
          timeMs: t0 + 40,
          path: '/',
          conclusion: 'DENY',
          reason: 'FILTER_DENIED',
          ruleId: live,
        }),
        // Another IP, another site of the team, another team, outside the range.
        row({ timeMs: t0 + 50, ip: '192.0.2.45' }),
        row({ timeMs: t0 + 60, siteId: siteB }),
        decision({ teamId: 'team_01jotherteamotherteamothert', ip, timeMs: t0 + 70 }),
        row({ timeMs: t0 - 1 }),
      ]),
    );

    it('reports what one IP did on the site: totals, first and last seen, paths, rules', async () => {
      expect(await store.ipActivity(range, team, ip, 5)).toEqual({
        requests: 4,
        denials: 2,
        firstSeenMs: t0 + 10,
        lastSeenMs: t0 + 40,
        topPaths: [
          { path: '/login', count: 2 },
          { path: '/', count: 1 },
          { path: '/admin', count: 1 },
        ],
        rulesTriggered: [
          { ruleId: dryA, mode: 'DRY_RUN', count: 3 },
          { ruleId: live, mode: 'LIVE', count: 2 },
          { ruleId: dryB, mode: 'DRY_RUN', count: 1 },
        ],
        // The team's other site counts here, another team's does not.
        team: { requests: 5, denials: 2, sites: 2 },
      });
      const one = await store.ipActivity(range, team, ip, 1);
      expect([one.topPaths, one.rulesTriggered]).toEqual([
        [{ path: '/login', count: 2 }],
        [{ ruleId: dryA, mode: 'DRY_RUN', count: 3 }],
      ]);
      expect(await store.ipActivity(range, team, '192.0.2.99', 5)).toEqual({
        requests: 0,
        denials: 0,
        firstSeenMs: null,
        lastSeenMs: null,
        topPaths: [],
        rulesTriggered: [],
        team: { requests: 0, denials: 0, sites: 0 },
      });
    });

    it("reports the team's totals from any of its sites, even one that never saw the IP", async () => {
      const only = await store.ipActivity({ ...range, siteId: siteB }, team, ip, 5);
      expect(only).toMatchObject({
        requests: 1,
        denials: 0,
        topPaths: [{ path: '/products', count: 1 }],
      });
      expect(only.team).toEqual({ requests: 5, denials: 2, sites: 2 });
      const elsewhere = await store.ipActivity(
        { ...range, siteId: 'site_01jipnoneipnoneipnoneipnone' },
        team,
        ip,
        5,
      );
      expect(elsewhere).toMatchObject({ requests: 0, firstSeenMs: null, rulesTriggered: [] });
      expect(elsewhere.team).toEqual({ requests: 5, denials: 2, sites: 2 });
    });
  });

  describe('anomaly queries', () => {
    const site = 'site_01janomalyanomalyanomalyan';
    const H = 3_600_000;
    const t0 = Date.UTC(2026, 10, 16);
    const c = { siteId: site, previousFromMs: t0, fromMs: t0 + 2 * H, toMs: t0 + 4 * H };
    const bot = (ua: string, timeMs: number) =>
      decision({ siteId: site, timeMs, userAgent: ua, botCategory: 'scraper' });
    beforeAll(() =>
      store.insertDecisions([
        // Previous range: an old bot, an old IP, two countries.
        bot('OldBot/1.0', t0 + 10),
        decision({ siteId: site, timeMs: t0 + 20, ip: '192.0.2.1', country: 'DE' }),
        decision({ siteId: site, timeMs: t0 + H + 5, ip: '192.0.2.2', country: 'FR' }),
        // Recent range, hour 3: the old bot again, a new bot 3 times, a new one only once.
        bot('OldBot/1.0', t0 + 2 * H + 1),
        ...[2, 3, 4].map((i) => bot('NewBot/2.0', t0 + 2 * H + i)),
        bot('RareBot/1.0', t0 + 2 * H + 5),
        // Recent, hour 4: a new IP with 3 requests, a new IP with 2 of 2 denied, the old IP.
        ...[1, 2, 3].map((i) =>
          decision({ siteId: site, timeMs: t0 + 3 * H + i, ip: '198.51.100.77', country: 'BR' }),
        ),
        ...[4, 5].map((i) =>
          decision({
            siteId: site,
            timeMs: t0 + 3 * H + i,
            ip: '198.51.100.88',
            country: null,
            conclusion: 'DENY',
            reason: 'RATE_LIMITED',
          }),
        ),
        decision({ siteId: site, timeMs: t0 + 3 * H + 6, ip: '192.0.2.1', country: 'DE' }),
      ]),
    );

    it('buckets requests by hour and counts countries, for both ranges in one pass', async () => {
      expect(await store.hourly(c)).toEqual({
        recent: [
          { hourMs: t0 + 2 * H, requests: 5, denials: 0 },
          { hourMs: t0 + 3 * H, requests: 6, denials: 2 },
        ],
        previous: [
          { hourMs: t0, requests: 2, denials: 0 },
          { hourMs: t0 + H, requests: 1, denials: 0 },
        ],
      });
      // A recent range starting mid-hour: that hour counts in each range for its part.
      expect(await store.hourly({ ...c, fromMs: t0 + 2 * H + 3 })).toEqual({
        recent: [
          { hourMs: t0 + 2 * H, requests: 3, denials: 0 },
          { hourMs: t0 + 3 * H, requests: 6, denials: 2 },
        ],
        previous: [
          { hourMs: t0, requests: 2, denials: 0 },
          { hourMs: t0 + H, requests: 1, denials: 0 },
          { hourMs: t0 + 2 * H, requests: 2, denials: 0 },
        ],
      });
      expect(await store.countries(c)).toEqual({
        // decision() defaults to DE for the bots.
        recent: [
          { country: 'DE', requests: 6 },
          { country: 'BR', requests: 3 },
          { country: null, requests: 2 },
        ],
        previous: [
          { country: 'DE', requests: 2 },
          { country: 'FR', requests: 1 },
        ],
      });
    });

    it('finds bot signatures and IPs the previous range never saw', async () => {
      expect(await store.newBotSignatures(c, 2, 10)).toEqual([
        { userAgent: 'NewBot/2.0', botCategory: 'scraper', requests: 3 },
      ]);
      expect(await store.newIps(c, 3, 2, 10)).toEqual([
        { ip: '198.51.100.77', requests: 3, denials: 0, country: 'BR', networkType: 'residential' },
        { ip: '198.51.100.88', requests: 2, denials: 2, country: null, networkType: 'residential' },
      ]);
      // The default decision() IP sent the bots: new too, but under both thresholds here.
      expect((await store.newIps(c, 6, 9, 10)).map((r) => r.ip)).toEqual([]);
    });
  });

  it("counts a team's usage in a range, busiest sites first", async () => {
    const team = 'team_01jusageusageusageusageusag';
    const t0 = Date.UTC(2026, 9, 1);
    const s1 = 'site_01jusage1usage1usage1usag';
    const s2 = 'site_01jusage2usage2usage2usag';
    await store.insertDecisions([
      decision({ teamId: team, siteId: s2, timeMs: t0 }),
      decision({ teamId: team, siteId: s1, timeMs: t0 + 1 }),
      decision({ teamId: team, siteId: s1, timeMs: t0 + 2 }),
      decision({ teamId: team, siteId: s1, timeMs: t0 + 1000 }),
      decision({ teamId: 'team_01jotherteamotherteamothert', siteId: s1, timeMs: t0 + 3 }),
    ]);
    expect(await store.teamUsage(team, t0, t0 + 1000, 10)).toEqual({
      requests: 3,
      bySite: [
        { siteId: s1, requests: 2 },
        { siteId: s2, requests: 1 },
      ],
    });
    expect((await store.teamUsage(team, t0, t0 + 1000, 1)).bySite).toHaveLength(1);
  });

  // ClickHouse answers these from an hourly rollup plus the raw rows of the hours a bound cuts
  // through; DuckDB scans. Bounds off the hour, hundreds of decisions: both must count exactly.
  describe('counts across bounds that cut hours', () => {
    const team = 'team_01jcutscutscutscutscutscuts';
    const site = 'site_01jcutscutscutscutscutscuts';
    const sibling = 'site_01jcutsibcutsibcutsibcutsi';
    const H = 3_600_000;
    const t0 = Date.UTC(2026, 10, 25);
    const c = {
      siteId: site,
      previousFromMs: t0 + H / 2 + 123,
      fromMs: t0 + 2.7 * H,
      toMs: t0 + 5.3 * H,
    };
    const networks = [
      { asn: 3320, asOrg: 'Deutsche Telekom AG', networkType: 'residential', country: 'DE' },
      { asn: 16509, asOrg: 'Amazon.com, Inc.', networkType: 'hosting', country: 'US' },
      { asn: null, asOrg: null, networkType: 'unknown', country: null },
      { asn: 12322, asOrg: 'Free SAS', networkType: 'residential', country: 'FR' },
    ];
    const reasons = ['SQL_INJECTION', 'RATE_LIMITED', 'BOT_DENIED'] as const;
    // A fixed pseudo-random sequence: the same rows on every run and for both adapters.
    let seed = 42;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n); // the high bits: the low ones repeat quickly
    };
    const dry1 = 'rule_01jcutsdry1cutsdry1cutsdry1';
    const dry2 = 'rule_01jcutsdry2cutsdry2cutsdry2';
    const dry3 = 'rule_01jcutsdry3cutsdry3cutsdry3';
    const dryRunSets = [[], [], [dry1], [dry2], [dry1, dry2]];
    const rows = Array.from({ length: 600 }, () => {
      const denied = next(4) === 0;
      const timeMs = t0 + next(6 * H);
      // User agents live in one hour each, so that the ones of the hour a bound cuts through
      // are seen on both sides of it; browsers' too, which must never count as bots.
      const variant = next(3);
      const agent = `${Math.floor((timeMs - t0) / H)}.${variant}`;
      return decision({
        teamId: team,
        siteId: next(5) === 0 ? sibling : site,
        timeMs,
        // A small pool, so that IPs the dry-run rules hit are also denied live, before and
        // after a rule's window starts.
        ip: `198.51.100.${next(60)}`,
        ...(next(4) === 0
          ? { userAgent: `Bot/${agent}`, botCategory: variant === 0 ? 'scraper' : 'ai_crawler' }
          : { userAgent: `Browser/${agent}`, botCategory: null }),
        // dry3 (an email rule) denies half of the requests with an email.
        dryRunDenials: [
          ...dryRunSets[next(dryRunSets.length)],
          ...(timeMs % 6 === 0 ? [dry3] : []),
        ],
        // From the time, not the sequence, so that the other columns stay as they were.
        email: timeMs % 3 === 0 ? `u${timeMs}@example.org` : null,
        ...networks[next(networks.length)],
        ...(denied
          ? { conclusion: 'DENY' as const, reason: reasons[next(reasons.length)] }
          : { conclusion: 'ALLOW' as const, reason: 'NO_RULE_DENIED' as const }),
      });
    });
    const mine = rows.filter((d) => d.siteId === site);
    const inRange = (d: DecisionRecord, from: number, to: number) =>
      d.timeMs >= from && d.timeMs < to;
    const recent = mine.filter((d) => inRange(d, c.fromMs, c.toMs));
    const previous = mine.filter((d) => inRange(d, c.previousFromMs, c.fromMs));
    const tally = <K>(list: DecisionRecord[], key: (d: DecisionRecord) => K) => {
      const counts = new Map<K, number>();
      for (const d of list) counts.set(key(d), (counts.get(key(d)) ?? 0) + 1);
      return counts;
    };
    const denied = (list: DecisionRecord[]) => list.filter((d) => d.conclusion === 'DENY');

    beforeAll(() => store.insertDecisions(rows));

    it('totals, denial reasons, hours and countries of both ranges', async () => {
      const summary = await store.trafficSummary(c, top(10));
      expect(summary).toMatchObject({
        requests: recent.length,
        denials: denied(recent).length,
        previous: { requests: previous.length, denials: denied(previous).length },
      });
      expect(new Map(summary.topDenialReasons.map((r) => [r.reason, r.count]))).toEqual(
        tally(denied(recent), (d) => d.reason),
      );
      const hours = (list: DecisionRecord[]) =>
        [...tally(list, (d) => d.timeMs - (d.timeMs % H))]
          .map(([hourMs, requests]) => ({
            hourMs,
            requests,
            denials: denied(list).filter((d) => d.timeMs - (d.timeMs % H) === hourMs).length,
          }))
          .sort((a, b) => a.hourMs - b.hourMs);
      expect(await store.hourly(c)).toEqual({ recent: hours(recent), previous: hours(previous) });
      const countries = await store.countries(c);
      expect(new Map(countries.recent.map((r) => [r.country, r.requests]))).toEqual(
        tally(recent, (d) => d.country),
      );
      expect(new Map(countries.previous.map((r) => [r.country, r.requests]))).toEqual(
        tally(previous, (d) => d.country),
      );
    });

    it('new bot signatures', async () => {
      const seenBefore = new Set(previous.filter((d) => d.botCategory).map((d) => d.userAgent));
      const fresh = recent.filter((d) => d.botCategory && !seenBefore.has(d.userAgent));
      const expected = [...tally(fresh, (d) => d.userAgent)]
        .map(([userAgent, requests]) => ({
          userAgent,
          botCategory: fresh.find((d) => d.userAgent === userAgent)?.botCategory,
          requests,
        }))
        .filter((b) => b.requests >= 2)
        .sort((a, b) => b.requests - a.requests || a.userAgent.localeCompare(b.userAgent));
      expect(expected.length).toBeGreaterThan(0);
      expect(seenBefore.size).toBeGreaterThan(0);
      expect(await store.newBotSignatures(c, 2, 10)).toEqual(expected);
    });

    it('networks behind denials, team usage and dry-run windows', async () => {
      const range = { siteId: site, fromMs: c.previousFromMs, toMs: c.toMs };
      const networksDenied = await store.deniedNetworks(range, 10);
      expect(new Map(networksDenied.map((n) => [n.asn, n.denials]))).toEqual(
        tally(denied([...previous, ...recent]), (d) => d.asn),
      );
      const usage = await store.teamUsage(team, c.previousFromMs, c.toMs, 10);
      const teamRows = rows.filter((d) => inRange(d, c.previousFromMs, c.toMs));
      expect(usage.requests).toBe(teamRows.length);
      expect(new Map(usage.bySite.map((s) => [s.siteId, s.requests]))).toEqual(
        tally(teamRows, (d) => d.siteId),
      );
      const late = c.fromMs + 17;
      const windows = [
        { ruleId: dry1, fromMs: late },
        { ruleId: dry2, fromMs: c.previousFromMs },
        // An email rule's window: the same start as dry1's, counted over requests with an email.
        { ruleId: dry3, fromMs: late, emailOnly: true },
      ];
      // What each count means, computed from the rows (DryRunImpact's definitions).
      const expected = windows.map(({ ruleId, fromMs, emailOnly }) => {
        const window = mine.filter((d) => inRange(d, fromMs, c.toMs));
        const deniedIps = new Set(denied(window).map((d) => d.ip));
        const hits = window.filter((d) => d.dryRunDenials.includes(ruleId));
        const allowed = hits.filter((d) => d.conclusion === 'ALLOW');
        return {
          evaluated: window.filter((d) => !emailOnly || d.email !== null).length,
          wouldDeny: allowed.length,
          alsoDeniedLive: hits.length - allowed.length,
          likelyLegitimate: allowed.filter(
            (d) => d.networkType === 'residential' && !d.botCategory && !deniedIps.has(d.ip),
          ).length,
          topIps: [],
          topPaths: [],
        };
      });
      expect(expected[0].likelyLegitimate).toBeGreaterThan(0);
      expect(expected[0].likelyLegitimate).toBeLessThan(expected[0].wouldDeny);
      expect(expected[2].evaluated).toBeGreaterThan(0);
      expect(expected[2].evaluated).toBeLessThan(expected[0].evaluated);
      expect(expected[2].wouldDeny).toBeGreaterThan(0);
      expect(await store.dryRunImpacts(site, c.toMs, windows, 0)).toEqual(expected);
    });
  });

  it('keeps data and schema across a restart, and migrating again changes nothing', async () => {
    const kept = decision({ siteId: SITE_B });
    await store.insertDecisions([kept]);
    store = await opened.reopen();
    await store.migrate();
    expect(await store.getDecision(kept.id)).toEqual(kept);
    expect(await store.ping()).toBe(true);
  });
});
