import request from 'supertest';
import { DB_KINDS, REST_AUDIENCE, rowCounts, startApp, TestApp } from '../support/app';

describe.each(DB_KINDS)('REST behaviour on %s', (db) => {
  let t: TestApp;
  let alice: string;
  const as = (token: string) => ({ Authorization: `Bearer ${token}` });

  beforeAll(async () => {
    t = await startApp(db);
    alice = await t.issuer.token('alice', REST_AUDIENCE, {
      claims: { email: 'alice@example.com', email_verified: true },
    });
  }, 60_000);
  afterAll(() => t?.close());

  const newTeam = async (name = 'Acme') =>
    (await request(t.url).post('/v1/teams').set(as(alice)).send({ name }).expect(201)).body as {
      id: string;
      role: string;
    };
  const newSite = async (teamId: string, site: { name: string; domain: string }) =>
    (await request(t.url).post(`/v1/teams/${teamId}/sites`).set(as(alice)).send(site).expect(201))
      .body;
  const newRule = async (siteId: string, rule: object) =>
    (await request(t.url).post(`/v1/sites/${siteId}/rules`).set(as(alice)).send(rule).expect(201))
      .body;
  const addMember = (teamId: string, member: object) =>
    request(t.url).post(`/v1/teams/${teamId}/members`).set(as(alice)).send(member).expect(201);
  /** The team's members, as `token` (alice unless given) sees them. */
  const membersOf = async (teamId: string, token = alice) =>
    (await request(t.url).get(`/v1/teams/${teamId}/members`).set(as(token)).expect(200)).body
      .items as { id: string; subject: string }[];

  it('makes the creator the owner and lists the team as theirs', async () => {
    const team = await newTeam();
    expect(team.role).toBe('owner');
    const mine = await request(t.url).get('/v1/teams').set(as(alice)).expect(200);
    expect(mine.body.items.map((x: { id: string }) => x.id)).toContain(team.id);
  });

  it('records every mutation in the audit trail, newest first, with actor, client, channel and before/after', async () => {
    const team = await newTeam();
    const site = await newSite(team.id, { name: 'Shop', domain: 'shop.example.com' });
    const rule = await newRule(site.id, { name: 'SQLi', type: 'shield', config: {} });
    expect(rule.mode).toBe('DRY_RUN');
    await request(t.url).post(`/v1/rules/${rule.id}/promote`).set(as(alice)).expect(200);
    await request(t.url).delete(`/v1/rules/${rule.id}`).set(as(alice)).expect(204);

    const audit = await request(t.url).get(`/v1/teams/${team.id}/audit`).set(as(alice)).expect(200);
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual([
      'rule.deleted',
      'rule.promoted',
      'rule.created',
      'site.created',
      'team.created',
    ]);
    const promoted = audit.body.items[1];
    expect(promoted).toMatchObject({
      actor: { subject: 'alice', email: 'alice@example.com', clientId: 'test-client' },
      via: 'rest',
      resourceType: 'rule',
      resourceId: rule.id,
      before: { mode: 'DRY_RUN' },
      after: { mode: 'LIVE' },
    });
    expect(JSON.stringify(audit.body)).not.toContain('bwk_');

    const first = await request(t.url)
      .get(`/v1/teams/${team.id}/audit?limit=2`)
      .set(as(alice))
      .expect(200);
    expect(first.body.items).toHaveLength(2);
    const second = await request(t.url)
      .get(`/v1/teams/${team.id}/audit?limit=2&cursor=${first.body.nextCursor}`)
      .set(as(alice))
      .expect(200);
    expect(second.body.items.map((e: { action: string }) => e.action)).toEqual([
      'rule.created',
      'site.created',
    ]);
    const bad = await request(t.url)
      .get(`/v1/teams/${team.id}/audit?cursor=bm9wZQ`)
      .set(as(alice))
      .expect(400);
    expect(bad.body.errors[0].field).toBe('cursor');
    const badLimit = await request(t.url)
      .get(`/v1/teams/${team.id}/audit?limit=500`)
      .set(as(alice))
      .expect(400);
    expect(badLimit.body.errors[0].field).toBe('limit');
  });

  it('never lets the last owner leave or be demoted', async () => {
    const team = await newTeam();
    const me = (await membersOf(team.id))[0].id;
    const before = await rowCounts(t.dataSource);
    const leave = await request(t.url)
      .delete(`/v1/teams/${team.id}/members/${me}`)
      .set(as(alice))
      .expect(409);
    expect(leave.body.detail).toContain('last owner');
    await request(t.url)
      .patch(`/v1/teams/${team.id}/members/${me}`)
      .set(as(alice))
      .send({ role: 'admin' })
      .expect(409);
    expect(await rowCounts(t.dataSource)).toEqual(before);

    await addMember(team.id, { subject: 'bob', role: 'owner' });
    await request(t.url)
      .patch(`/v1/teams/${team.id}/members/${me}`)
      .set(as(alice))
      .send({ role: 'admin' })
      .expect(200);
  });

  it('needs the write scope to leave a team, though leaving needs no role', async () => {
    const team = await newTeam();
    await addMember(team.id, { subject: 'bob', role: 'viewer' });
    const bobRead = await t.issuer.token('bob', REST_AUDIENCE, { scope: 'bulwark:read' });
    const bobs = (await membersOf(team.id, bobRead)).find((m) => m.subject === 'bob')!.id;
    const before = await rowCounts(t.dataSource);
    const refused = await request(t.url)
      .delete(`/v1/teams/${team.id}/members/${bobs}`)
      .set(as(bobRead))
      .expect(403);
    expect(refused.body.code).toBe('insufficient_scope');
    expect(await rowCounts(t.dataSource)).toEqual(before);

    const bobWrite = await t.issuer.token('bob', REST_AUDIENCE);
    await request(t.url)
      .delete(`/v1/teams/${team.id}/members/${bobs}`)
      .set(as(bobWrite))
      .expect(204);
    await request(t.url).get(`/v1/teams/${team.id}`).set(as(bobWrite)).expect(404);
  });

  it('lets only an owner grant the owner role', async () => {
    const team = await newTeam();
    await addMember(team.id, { subject: 'bob', role: 'admin' });
    const bob = await t.issuer.token('bob', REST_AUDIENCE);
    const res = await request(t.url)
      .post(`/v1/teams/${team.id}/members`)
      .set(as(bob))
      .send({ subject: 'bob2', role: 'owner' })
      .expect(403);
    expect(res.body.detail).toContain('Only an owner');
    await request(t.url)
      .post(`/v1/teams/${team.id}/members`)
      .set(as(alice))
      .send({ subject: 'bob', role: 'viewer' })
      .expect(409);
  });

  it('matches an e-mail invitation when that person first signs in with a verified address', async () => {
    const team = await newTeam();
    await addMember(team.id, { email: 'Zoe@Example.com', role: 'member' });
    const unverified = await t.issuer.token('zoe-sub', REST_AUDIENCE, {
      claims: { email: 'zoe@example.com', email_verified: false },
    });
    await request(t.url).get(`/v1/teams/${team.id}`).set(as(unverified)).expect(404);
    const zoe = await t.issuer.token('zoe-sub', REST_AUDIENCE, {
      claims: { email: 'zoe@example.com', email_verified: true },
    });
    const mine = await request(t.url).get('/v1/teams').set(as(zoe)).expect(200);
    expect(mine.body.items).toEqual([expect.objectContaining({ id: team.id, role: 'member' })]);
    expect(await membersOf(team.id)).toContainEqual(
      expect.objectContaining({ subject: 'zoe-sub', email: 'zoe@example.com', pending: false }),
    );
  });

  it('shows a site key once on creation, again only to key managers, and rotates it', async () => {
    const team = await newTeam();
    const created = await newSite(team.id, { name: 'Shop', domain: 'Shop.Example.com' });
    expect(created.key).toMatch(/^bwk_[A-Za-z0-9_-]{43}$/);
    expect(created.domain).toBe('shop.example.com');
    expect(created.keyHint).toBe(created.key.slice(-4));
    const site = (await request(t.url).get(`/v1/sites/${created.id}`).set(as(alice)).expect(200))
      .body;
    expect(site.key).toBeUndefined();
    const stored = await t.dataSource.query<{ key_hash: string; key_ciphertext: string }[]>(
      'SELECT key_hash, key_ciphertext FROM sites WHERE id = $1',
      [created.id],
    );
    expect(JSON.stringify(stored)).not.toContain(created.key);

    expect(
      (await request(t.url).get(`/v1/sites/${created.id}/key`).set(as(alice)).expect(200)).body.key,
    ).toBe(created.key);
    const rotated = (
      await request(t.url).post(`/v1/sites/${created.id}/key/rotate`).set(as(alice)).expect(200)
    ).body;
    expect(rotated.key).not.toBe(created.key);
    expect(
      (await request(t.url).get(`/v1/sites/${created.id}/key`).set(as(alice)).expect(200)).body.key,
    ).toBe(rotated.key);
    const actions = (
      await request(t.url).get(`/v1/teams/${team.id}/audit`).set(as(alice)).expect(200)
    ).body.items.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 3)).toEqual(['site.key.read', 'site.key.rotated', 'site.key.read']);
  });

  it('validates a rule config update against the rule type', async () => {
    const team = await newTeam();
    const site = await newSite(team.id, { name: 'S', domain: 'example.com' });
    const rule = await newRule(site.id, {
      name: 'Bots',
      type: 'bot',
      config: { deny: ['scraper'] },
    });
    const res = await request(t.url)
      .patch(`/v1/rules/${rule.id}`)
      .set(as(alice))
      .send({ config: { deny: ['robots'] } })
      .expect(400);
    expect(res.body.errors[0]).toEqual({
      field: 'config.deny.0',
      message: expect.stringContaining('"search_engine"'),
    });
    const ok = await request(t.url)
      .patch(`/v1/rules/${rule.id}`)
      .set(as(alice))
      .send({ config: { deny: ['ai_crawler'] } })
      .expect(200);
    expect(ok.body.config).toEqual({ deny: ['ai_crawler'], allow: [], denyEmptyUserAgent: true });
  });

  describe('platform', () => {
    it('serves health, docs, the OpenAPI document and metrics without a token', async () => {
      expect((await request(t.url).get('/health').expect(200)).body.status).toBe('ok');
      expect((await request(t.url).get('/docs').expect(200)).text).toContain('swagger');
      const doc = (await request(t.url).get('/docs/openapi.json').expect(200)).body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/v1/teams',
          '/v1/sites/{siteId}/rules',
          '/v1/rules/{ruleId}/promote',
        ]),
      );
      expect(JSON.stringify(doc.paths['/v1/sites/{siteId}/rules'].post.requestBody)).toContain(
        'rate_limit',
      );
      expect((await request(t.url).get('/metrics').expect(200)).text).toContain(
        'bulwark_http_requests_total',
      );
    });

    it('answers oversized bodies with 413, malformed JSON and unknown routes with problem documents', async () => {
      const before = await rowCounts(t.dataSource);
      const big = await request(t.url)
        .post('/v1/teams')
        .set(as(alice))
        .set('Content-Type', 'application/json')
        .send(JSON.stringify({ name: 'x'.repeat(200_000) }));
      expect(big.status).toBe(413);
      expect(big.body.code).toBe('payload_too_large');
      const malformed = await request(t.url)
        .post('/v1/teams')
        .set(as(alice))
        .set('Content-Type', 'application/json')
        .send('{"name": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body.code).toBe('malformed_json');
      // Answered before the body reached a route, and still naming the request for the logs.
      for (const res of [big, malformed]) {
        expect(res.headers['x-request-id']).toEqual(expect.any(String));
        expect(res.body.requestId).toBe(res.headers['x-request-id']);
      }
      const unknown = await request(t.url).get('/v1/nothing-here').set(as(alice)).expect(404);
      expect(unknown.headers['content-type']).toMatch(/problem\+json/);
      expect(await rowCounts(t.dataSource)).toEqual(before);
    });

    it('echoes a well-formed caller request id and makes one up otherwise', async () => {
      const res = await request(t.url)
        .get('/v1/teams')
        .set('X-Request-Id', 'trace-123')
        .expect(401);
      expect(res.headers['x-request-id']).toBe('trace-123');
      expect(res.body.requestId).toBe('trace-123');
      const other = await request(t.url)
        .get('/v1/teams')
        .set('X-Request-Id', 'bad id with spaces')
        .expect(401);
      expect(other.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });
});
