import request from 'supertest';
import { REST_AUDIENCE, rowCounts, startApp, TestApp } from '../support/app';

/**
 * How REST answers bad input: who is asking comes first, then the body's format, then its
 * fields, each answer saying what was expected. The database plays no part, so PGlite only.
 */
describe('REST input on pglite', () => {
  let t: TestApp;
  let alice: string;
  let teamId: string;
  let siteId: string;
  let ruleId: string;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    t = await startApp('pglite');
    alice = await t.issuer.token('alice', REST_AUDIENCE);
    teamId = (await request(t.url).post('/v1/teams').set(as(alice)).send({ name: 'A' }).expect(201))
      .body.id;
    siteId = (
      await request(t.url)
        .post(`/v1/teams/${teamId}/sites`)
        .set(as(alice))
        .send({ name: 'S', domain: 'example.com' })
        .expect(201)
    ).body.id;
    ruleId = (
      await request(t.url)
        .post(`/v1/sites/${siteId}/rules`)
        .set(as(alice))
        .send({ name: 'Bots', type: 'bot', config: { deny: ['scraper'] } })
        .expect(201)
    ).body.id;
  }, 60_000);
  afterAll(() => t?.close());

  describe('authentication before the body', () => {
    const sites = () => request(t.url).post(`/v1/teams/${teamId}/sites`);

    it('answers a caller without a token 401, whatever the body', async () => {
      const anonymous = await request(t.url).get('/v1/teams').expect(401);
      const bodies = [
        sites().set('Content-Type', 'application/json').send('{"name": '),
        sites().set('Content-Type', 'text/plain').send('hello'),
        sites().type('form').send('name=S&domain=example.com'),
        sites()
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ name: 'x'.repeat(200_000) })),
        sites()
          .set('Authorization', 'Basic YTpi')
          .set('Content-Type', 'application/json')
          .send('{'),
      ];
      const answers = await Promise.all(bodies);
      for (const res of answers) {
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('unauthenticated');
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      }
      const [malformed] = answers;
      expect(malformed.body.detail).toBe(anonymous.body.detail);
      expect(malformed.headers['www-authenticate']).toBe(anonymous.headers['www-authenticate']);
    });

    it('answers a token that fails verification 401 before reading a malformed body', async () => {
      const res = await sites()
        .set(as('not-a-token'))
        .set('Content-Type', 'application/json')
        .send('{"name": ')
        .expect(401);
      expect(res.body.code).toBe('unauthenticated');
    });
  });

  describe('the body format', () => {
    it('answers text and form bodies 415 with a problem document, and writes nothing', async () => {
      const before = await rowCounts(t.dataSource);
      const text = await request(t.url)
        .post(`/v1/teams/${teamId}/sites`)
        .set(as(alice))
        .set('Content-Type', 'text/plain')
        .send('{"name": "S", "domain": "example.com"}')
        .expect(415);
      expect(text.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(text.body).toMatchObject({
        type: 'urn:bulwark:problem:unsupported_media_type',
        code: 'unsupported_media_type',
        status: 415,
        requestId: expect.any(String),
      });
      expect(text.body.detail).toContain('The request body is text/plain');
      expect(text.body.detail).toContain('Content-Type: application/json');
      const form = await request(t.url)
        .patch(`/v1/rules/${ruleId}`)
        .set(as(alice))
        .type('form')
        .send('name=Renamed')
        .expect(415);
      expect(form.body.detail).toContain('application/x-www-form-urlencoded');
      expect(await rowCounts(t.dataSource)).toEqual(before);
    });

    it('accepts JSON under an application/*+json type, as /v1/decide does', async () => {
      await request(t.url)
        .patch(`/v1/rules/${ruleId}`)
        .set(as(alice))
        .set('Content-Type', 'application/merge-patch+json')
        .send(JSON.stringify({ name: 'Bots' }))
        .expect(200);
    });

    it('leaves routes that take no body alone, whatever was sent', async () => {
      for (const body of [
        { type: 'text/plain', data: 'hello' },
        { type: 'application/json', data: '{"oops' },
      ]) {
        const promoted = await request(t.url)
          .post(`/v1/rules/${ruleId}/promote`)
          .set(as(alice))
          .set('Content-Type', body.type)
          .send(body.data)
          .expect(200);
        expect(promoted.body.mode).toBe('LIVE');
        await request(t.url)
          .post(`/v1/rules/${ruleId}/demote`)
          .set(as(alice))
          .set('Content-Type', body.type)
          .send(body.data)
          .expect(200);
      }
      await request(t.url)
        .get(`/v1/rules/${ruleId}`)
        .set(as(alice))
        .set('Content-Type', 'text/plain')
        .expect(200);
    });

    it('says a missing body is missing, and how to send one', async () => {
      const res = await request(t.url).post(`/v1/sites/${siteId}/rules`).set(as(alice)).expect(400);
      expect(res.body.errors).toEqual([
        {
          field: 'body',
          message: expect.stringContaining('is missing; send a JSON object with Content-Type'),
        },
      ]);
    });
  });

  describe('field messages', () => {
    it('answers an empty create-rule body with every field a rule needs', async () => {
      const res = await request(t.url)
        .post(`/v1/sites/${siteId}/rules`)
        .set(as(alice))
        .send({})
        .expect(400);
      const [only] = res.body.errors as { field: string; message: string }[];
      expect(only.field).toBe('type');
      expect(only.message).toContain('"shield", "rate_limit", "bot", "filter", "email"');
      expect(only.message).toContain('{name, type, config}');
      const named = await request(t.url)
        .post(`/v1/sites/${siteId}/rules`)
        .set(as(alice))
        .send({ type: 'shield' })
        .expect(400);
      expect(named.body.errors).toEqual([
        { field: 'name', message: 'is required (expected string)' },
        { field: 'config', message: 'is required (expected object)' },
      ]);
    });

    it("says a rule's type cannot change only to a caller who tries to change it", async () => {
      const bad = await request(t.url)
        .patch(`/v1/rules/${ruleId}`)
        .set(as(alice))
        .send({ config: { deny: ['robots'] } })
        .expect(400);
      expect(bad.body.detail).toContain('The rule is of type bot');
      expect(bad.body.detail).not.toContain('cannot change');
      const typed = await request(t.url)
        .patch(`/v1/rules/${ruleId}`)
        .set(as(alice))
        .send({ type: 'shield', config: {} })
        .expect(400);
      expect(typed.body.errors).toEqual([
        { field: 'type', message: expect.stringContaining("a rule's type cannot change") },
      ]);
      const shieldConfig = await request(t.url)
        .patch(`/v1/rules/${ruleId}`)
        .set(as(alice))
        .send({ config: { detect: ['xss'] } })
        .expect(400);
      expect(shieldConfig.body.detail).toContain(
        "This is a shield config, but the rule is of type bot and a rule's type cannot change",
      );
    });

    it('quotes a limit that is not a number and says what a limit is', async () => {
      const res = await request(t.url)
        .get(`/v1/sites/${siteId}/rules?limit=abc`)
        .set(as(alice))
        .expect(400);
      expect(res.body.errors).toEqual([
        { field: 'limit', message: 'must be a whole number from 1 to 100, received "abc"' },
      ]);
      expect(res.body.detail).not.toContain('NaN');
    });

    it('refuses a time range whose from is not before its to, naming both', async () => {
      const range = (from: string, to: string) =>
        request(t.url).get(`/v1/sites/${siteId}/decisions`).query({ from, to }).set(as(alice));
      const res = await range('2026-01-02T00:00:00Z', '2026-01-01T00:00:00Z').expect(400);
      expect(res.body.errors).toEqual([
        { field: 'from', message: expect.stringContaining('must be before to') },
      ]);
      await range('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z').expect(400);
      await range('2026-01-01T00:00:00Z', '2026-01-02T00:00:00Z').expect(200);
    });
  });

  describe('query parameters', () => {
    it('refuses a query parameter on a route that takes none, naming it', async () => {
      const res = await request(t.url)
        .get(`/v1/sites/${siteId}/analytics/briefing?days=3`)
        .set(as(alice))
        .expect(400);
      expect(res.body.errors).toEqual([
        {
          field: 'days',
          message:
            'is not a query parameter of GET /v1/sites/:siteId/analytics/briefing, which takes none; remove it',
        },
      ]);
      await request(t.url).get(`/v1/sites/${siteId}/analytics/briefing`).set(as(alice)).expect(200);
      await request(t.url).get(`/v1/rules/${ruleId}?x=1`).set(as(alice)).expect(400);
    });

    it('lists the accepted parameters when one is unknown', async () => {
      const res = await request(t.url)
        .get(`/v1/sites/${siteId}/rules?limti=5`)
        .set(as(alice))
        .expect(400);
      expect(res.body.errors).toEqual([
        {
          field: 'limti',
          message: 'is not a recognised query parameter; remove it (accepted: limit, cursor)',
        },
      ]);
    });

    it('answers 401 before judging the query, and leaves public routes alone', async () => {
      await request(t.url).get(`/v1/sites/${siteId}/analytics/briefing?days=3`).expect(401);
      await request(t.url).get('/health?verbose=1').expect(200);
    });
  });
});
