import request from 'supertest';
import { ArcjetServer } from '../../src/arcjet/arcjet.server';
import type * as Sdk from 'arcjet-node-1.5.0';
import { startApp, TestApp } from './app';
import { as, createRule, flushDecisions, siteFor } from './decide';

/** The part of `@arcjet/node` the suite uses; every tested version has it. */
export type ArcjetSdk = Pick<
  typeof Sdk,
  | 'default'
  | 'createRemoteClient'
  | 'shield'
  | 'fixedWindow'
  | 'slidingWindow'
  | 'tokenBucket'
  | 'detectBot'
  | 'validateEmail'
>;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** A Node request as the SDK reads it: headers, the socket's address, method and URL. */
function nodeRequest(path: string, headers: Record<string, string> = {}) {
  return {
    method: 'GET',
    url: path,
    httpVersion: '1.1',
    headers: {
      host: 'shop.example.com',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
      accept: 'text/html',
      ...headers,
    },
    socket: { remoteAddress: '80.128.0.1', encrypted: false },
  };
}

type Decision = Awaited<ReturnType<ReturnType<typeof Sdk.default>['protect']>>;
interface ProtectedApp {
  protect(request: ReturnType<typeof nodeRequest>, props?: { email?: string }): Promise<Decision>;
}

interface StoredDecision {
  id: string;
  conclusion: string;
  reason: string;
  ruleId: string | null;
  dryRunDenials: string[];
  results: { ruleId: string; type: string; mode: string; conclusion: string; reason: string }[];
}

/**
 * The Arcjet SDK compatibility suite: the real SDK of one version, in this process, against a
 * Bulwark on loopback (its h2c decide port), with rules configured the way an app developer
 * configures them.
 */
export function arcjetSdkSuite(version: string, sdk: ArcjetSdk): void {
  describe(`@arcjet/node ${version} against Bulwark`, () => {
    let t: TestApp;
    let owner: Awaited<ReturnType<typeof siteFor>>;
    let baseUrl: string;

    beforeAll(async () => {
      t = await startApp('pglite');
      owner = await siteFor(t, 'alice');
      baseUrl = `http://127.0.0.1:${t.app.get(ArcjetServer).address()!.port}`;
    }, 60_000);
    afterAll(() => t?.close());

    /** One protected app: its own arcjet() instance (and so its own decision cache). */
    function protectedApp(rules: unknown[], key = owner.key): ProtectedApp {
      return sdk.default({
        key,
        rules: rules as Parameters<typeof sdk.default>[0]['rules'],
        // Generous: the first call of a test run also warms up the SDK's WebAssembly.
        client: sdk.createRemoteClient({ baseUrl, timeout: 5_000 }),
        log: silent,
      });
    }

    async function stored(id: string): Promise<StoredDecision> {
      await flushDecisions(t);
      return (await request(t.url).get(`/v1/decisions/${id}`).set(as(owner.token)).expect(200))
        .body as StoredDecision;
    }

    /** Decisions of the site matching `predicate`, once the SDK's Report has arrived. */
    async function reported(predicate: (d: StoredDecision) => boolean): Promise<StoredDecision> {
      for (let attempt = 0; attempt < 50; attempt++) {
        await flushDecisions(t);
        const page = (
          await request(t.url)
            .get(`/v1/sites/${owner.siteId}/decisions?conclusion=DENY&limit=100`)
            .set(as(owner.token))
            .expect(200)
        ).body as { items: StoredDecision[] };
        const found = page.items.find(predicate);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('the reported decision never arrived');
    }

    it('allows a benign request with a req_ id and Bulwark’s intelligence, and records it', async () => {
      const aj = protectedApp([sdk.shield({ mode: 'LIVE' })]);
      const decision = await aj.protect(nodeRequest('/products?page=2'));
      expect(decision.conclusion).toBe('ALLOW');
      expect(decision.id).toMatch(/^req_[0-9a-z]{26}$/);
      expect(decision.ip.country).toBe('DE');
      expect(decision.ip.asn).toBe('3320');
      const record = await stored(decision.id);
      expect(record).toMatchObject({ conclusion: 'ALLOW', reason: 'NO_RULE_DENIED' });
      expect(record.results).toEqual([
        {
          ruleId: expect.stringMatching(/^sdk_[0-9a-f]{64}$/),
          type: 'shield',
          mode: 'LIVE',
          conclusion: 'ALLOW',
          reason: 'NOT_MATCHED',
        },
      ]);
    });

    it('denies SQL injection with the SDK’s shield rule', async () => {
      const aj = protectedApp([sdk.shield({ mode: 'LIVE' })]);
      const decision = await aj.protect(nodeRequest("/products?id=1'%20OR%20'1'='1'%20--"));
      expect(decision.conclusion).toBe('DENY');
      expect(decision.reason.isShield()).toBe(true);
      const record = await stored(decision.id);
      expect(record.reason).toBe('SQL_INJECTION');

      // The deciding rule lives in the app's code: explained as such, and filterable by its id.
      const explained = (
        await request(t.url)
          .get(`/v1/decisions/${decision.id}/explanation`)
          .set(as(owner.token))
          .expect(200)
      ).body as { summary: string; suggestedActions: { tool: string }[] };
      expect(explained.summary).toContain('Arcjet SDK');
      expect(explained.suggestedActions.map((a) => a.tool)).toEqual(['list-decisions']);
      const byRule = (
        await request(t.url)
          .get(`/v1/sites/${owner.siteId}/decisions?ruleId=${record.ruleId}`)
          .set(as(owner.token))
          .expect(200)
      ).body as { items: StoredDecision[] };
      expect(byRule.items.map((d) => d.id)).toContain(decision.id);
    });

    it('rate limits with a fixed window: DENY on request max+1, then a cached DENY in the SDK', async () => {
      const aj = protectedApp([sdk.fixedWindow({ mode: 'LIVE', window: '1h', max: 2 })]);
      const req = () => nodeRequest('/search', { 'x-client': version });
      const first = await aj.protect(req());
      expect(first.conclusion).toBe('ALLOW');
      expect(first.reason.isRateLimit() && first.reason.remaining).toBe(1);
      expect((await aj.protect(req())).conclusion).toBe('ALLOW');
      const third = await aj.protect(req());
      expect(third.conclusion).toBe('DENY');
      expect(third.reason.isRateLimit()).toBe(true);
      expect(third.ttl).toBeGreaterThan(0);
      expect(third.results[0]).toMatchObject({ state: 'RUN', conclusion: 'DENY' });

      // The SDK found Bulwark's DENY under its own rule id and fingerprint: decided locally.
      const fourth = await aj.protect(req());
      expect(fourth.conclusion).toBe('DENY');
      expect(fourth.results[0]).toMatchObject({ state: 'CACHED', conclusion: 'DENY' });
      expect(fourth.id).toMatch(/^lreq_/);
    });

    it('rate limits with the SDK’s sliding window and token bucket parameters', async () => {
      const sliding = protectedApp([
        sdk.slidingWindow({ mode: 'LIVE', interval: '1m', max: 1, characteristics: ['userId'] }),
      ]);
      const call = (userId: string) =>
        (sliding.protect as (r: unknown, p: object) => Promise<Decision>)(nodeRequest('/api'), {
          userId: `${version}-${userId}`,
        });
      expect((await call('u1')).conclusion).toBe('ALLOW');
      expect((await call('u1')).conclusion).toBe('DENY');
      // Counted per characteristic value, not per IP.
      expect((await call('u2')).conclusion).toBe('ALLOW');

      const bucket = protectedApp([
        sdk.tokenBucket({ mode: 'LIVE', refillRate: 1, interval: '1h', capacity: 2 }),
      ]);
      const take = () =>
        (bucket.protect as (r: unknown, p: object) => Promise<Decision>)(
          nodeRequest('/bucket', { 'user-agent': `bucket-${version} Mozilla/5.0` }),
          { requested: 1 },
        );
      const conclusions = [];
      for (let i = 0; i < 3; i++) conclusions.push((await take()).conclusion);
      expect(conclusions).toEqual(['ALLOW', 'ALLOW', 'DENY']);
    });

    it('records a bot the SDK denied locally (Report), visible in list-decisions', async () => {
      const aj = protectedApp([sdk.detectBot({ mode: 'LIVE', allow: [] })]);
      const decision = await aj.protect(
        nodeRequest('/pricing', { 'user-agent': `curl/8.5.0 sdk-${version}` }),
      );
      expect(decision.conclusion).toBe('DENY');
      expect(decision.reason.isBot()).toBe(true);
      const record = await reported((d) => d.reason === 'BOT_DENIED');
      expect(record.results).toEqual([
        expect.objectContaining({ type: 'bot', mode: 'LIVE', conclusion: 'DENY' }),
      ]);
      const briefing = (
        await request(t.url)
          .get(`/v1/sites/${owner.siteId}/analytics/briefing`)
          .set(as(owner.token))
          .expect(200)
      ).body as { threats: { attackTypes: { reason: string; count: number }[] } };
      expect(briefing.threats.attackTypes).toContainEqual({
        reason: 'BOT_DENIED',
        count: expect.any(Number) as number,
      });
    });

    it('records an invalid email the SDK denied locally (Report)', async () => {
      const aj = protectedApp([sdk.validateEmail({ mode: 'LIVE', deny: ['INVALID'] })]);
      const decision = await aj.protect(nodeRequest('/signup'), { email: 'not-an-address' });
      expect(decision.conclusion).toBe('DENY');
      expect(decision.reason.isEmail()).toBe(true);
      const record = await reported((d) => d.reason === 'EMAIL_INVALID');
      expect(record.results[0]).toMatchObject({ type: 'email', conclusion: 'DENY' });
    });

    it('records a DRY_RUN Bulwark rule without enforcing it', async () => {
      const rule = await createRule(t, owner.token, owner.siteId, {
        name: 'Beta is closed',
        type: 'filter',
        config: { action: 'deny', match: { pathPrefixes: [`/beta-${version}`] } },
      });
      const aj = protectedApp([sdk.shield({ mode: 'LIVE' })]);
      const decision = await aj.protect(nodeRequest(`/beta-${version}/page`));
      expect(decision.conclusion).toBe('ALLOW');
      const record = await stored(decision.id);
      expect(record.dryRunDenials).toEqual([rule.id]);
      expect(decision.results.map((r) => r.state)).toEqual(['DRY_RUN', 'RUN']);
    });

    it('denies with a LIVE Bulwark rule the SDK knows nothing of', async () => {
      const rule = await createRule(t, owner.token, owner.siteId, {
        name: 'No admin from outside',
        type: 'filter',
        config: { action: 'deny', match: { pathPrefixes: [`/admin-${version}`] } },
      });
      await request(t.url).post(`/v1/rules/${rule.id}/promote`).set(as(owner.token)).expect(200);
      const aj = protectedApp([]);
      const decision = await aj.protect(nodeRequest(`/admin-${version}`));
      expect(decision.conclusion).toBe('DENY');
      expect(decision.reason.type).toBe('FILTER');
      const record = await stored(decision.id);
      expect(record).toMatchObject({
        conclusion: 'DENY',
        reason: 'FILTER_DENIED',
        ruleId: rule.id,
      });
    });

    it('turns a wrong key into an ERROR decision (Unauthenticated) and lets the request through', async () => {
      const aj = protectedApp([sdk.shield({ mode: 'LIVE' })], 'bwk_not_a_real_key');
      const decision = await aj.protect(nodeRequest('/products'));
      expect(decision.conclusion).toBe('ERROR');
      expect(decision.reason.isError() && decision.reason.message).toMatch(/site key is not valid/);
    });
  });
}
