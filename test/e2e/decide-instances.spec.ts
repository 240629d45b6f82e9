import request from 'supertest';
import { startApp, TestApp } from '../support/app';
import { as, browserRequest, createRule, decide, siteFor } from '../support/decide';

/**
 * Two instances of the app on one PostgreSQL database, as behind a load balancer: a change made
 * through one must be seen by the very next decision on the other, with no waiting in between.
 */
describe('rule and key changes across two instances', () => {
  let a: TestApp;
  let b: TestApp;

  beforeAll(async () => {
    a = await startApp('postgres');
    b = await startApp('pglite', {
      DATABASE_URL: a.env.DATABASE_URL,
      ENCRYPTION_KEY: a.env.ENCRYPTION_KEY,
      OAUTH_ISSUER: a.env.OAUTH_ISSUER,
    });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('sees promote, demote and delete made on the other instance on its next decision', async () => {
    const { token, siteId, key } = await siteFor(a, 'alice');
    const attack = browserRequest({ path: '/../../etc/passwd' });
    const rule = await createRule(a, token, siteId, { name: 'Shield', type: 'shield', config: {} });
    // Instance b caches the site's rules with the rule in DRY_RUN.
    expect((await decide(b.url, key, attack).expect(200)).body.conclusion).toBe('ALLOW');
    for (let round = 0; round < 10; round++) {
      await request(a.url).post(`/v1/rules/${rule.id}/promote`).set(as(token)).expect(200);
      expect((await decide(b.url, key, attack).expect(200)).body.conclusion).toBe('DENY');
      await request(a.url).post(`/v1/rules/${rule.id}/demote`).set(as(token)).expect(200);
      expect((await decide(b.url, key, attack).expect(200)).body.conclusion).toBe('ALLOW');
    }
    await request(a.url).post(`/v1/rules/${rule.id}/promote`).set(as(token)).expect(200);
    expect((await decide(b.url, key, attack).expect(200)).body.conclusion).toBe('DENY');
    await request(a.url).delete(`/v1/rules/${rule.id}`).set(as(token)).expect(204);
    const after = (await decide(b.url, key, attack).expect(200)).body;
    expect(after).toMatchObject({ conclusion: 'ALLOW', results: [] });
  });

  it('refuses a key rotated on the other instance on its next request', async () => {
    const { token, siteId, key } = await siteFor(a, 'bob');
    await decide(b.url, key, browserRequest()).expect(200);
    const rotated = await request(a.url)
      .post(`/v1/sites/${siteId}/key/rotate`)
      .set(as(token))
      .expect(200);
    await decide(b.url, key, browserRequest()).expect(401);
    await decide(b.url, rotated.body.key, browserRequest()).expect(200);
  });
});
