import request from 'supertest';
import { newId } from '../../src/common/ids';
import { DB_KINDS, REST_AUDIENCE, rowCounts, startApp, TestApp } from '../support/app';

type Role = 'owner' | 'admin' | 'member' | 'viewer';
type Need =
  | 'any'
  | 'read'
  | 'rules:write'
  | 'sites:write'
  | 'site-keys:manage'
  | 'members:manage'
  | 'team:update'
  | 'team:delete';

const ALLOWED: Record<Need, Role[]> = {
  any: ['owner', 'admin', 'member', 'viewer'],
  read: ['owner', 'admin', 'member', 'viewer'],
  'rules:write': ['owner', 'admin', 'member'],
  'sites:write': ['owner', 'admin'],
  'site-keys:manage': ['owner', 'admin'],
  'members:manage': ['owner', 'admin'],
  'team:update': ['owner', 'admin'],
  'team:delete': ['owner'],
};

interface Fixture {
  team: string;
  site: string;
  rule: string;
  /** A viewer that routes about members act on. */
  extraMember: string;
}

interface Route {
  name: string;
  method: 'get' | 'post' | 'patch' | 'delete';
  path: (f: Fixture) => string;
  /** Which ids the path holds, to swap for malformed or missing ones. */
  ids: (keyof Fixture)[];
  body?: object;
  need: Need;
  ok: number;
}

const ROUTES: Route[] = [
  {
    name: 'create team',
    method: 'post',
    path: () => '/v1/teams',
    ids: [],
    body: { name: 'New team' },
    need: 'any',
    ok: 201,
  },
  { name: 'list my teams', method: 'get', path: () => '/v1/teams', ids: [], need: 'any', ok: 200 },
  {
    name: 'get team',
    method: 'get',
    path: (f) => `/v1/teams/${f.team}`,
    ids: ['team'],
    need: 'read',
    ok: 200,
  },
  {
    name: 'rename team',
    method: 'patch',
    path: (f) => `/v1/teams/${f.team}`,
    ids: ['team'],
    body: { name: 'Renamed' },
    need: 'team:update',
    ok: 200,
  },
  {
    name: 'delete team',
    method: 'delete',
    path: (f) => `/v1/teams/${f.team}`,
    ids: ['team'],
    need: 'team:delete',
    ok: 204,
  },
  {
    name: 'list members',
    method: 'get',
    path: (f) => `/v1/teams/${f.team}/members`,
    ids: ['team'],
    need: 'read',
    ok: 200,
  },
  {
    name: 'add member',
    method: 'post',
    path: (f) => `/v1/teams/${f.team}/members`,
    ids: ['team'],
    body: { email: 'newcomer@example.com', role: 'viewer' },
    need: 'members:manage',
    ok: 201,
  },
  {
    name: 'change role',
    method: 'patch',
    path: (f) => `/v1/teams/${f.team}/members/${f.extraMember}`,
    ids: ['team', 'extraMember'],
    body: { role: 'member' },
    need: 'members:manage',
    ok: 200,
  },
  {
    name: 'remove member',
    method: 'delete',
    path: (f) => `/v1/teams/${f.team}/members/${f.extraMember}`,
    ids: ['team', 'extraMember'],
    need: 'members:manage',
    ok: 204,
  },
  {
    name: 'list audit',
    method: 'get',
    path: (f) => `/v1/teams/${f.team}/audit`,
    ids: ['team'],
    need: 'read',
    ok: 200,
  },
  {
    name: 'create site',
    method: 'post',
    path: (f) => `/v1/teams/${f.team}/sites`,
    ids: ['team'],
    body: { name: 'Shop', domain: 'shop.example.com' },
    need: 'sites:write',
    ok: 201,
  },
  {
    name: 'list sites',
    method: 'get',
    path: (f) => `/v1/teams/${f.team}/sites`,
    ids: ['team'],
    need: 'read',
    ok: 200,
  },
  {
    name: 'get site',
    method: 'get',
    path: (f) => `/v1/sites/${f.site}`,
    ids: ['site'],
    need: 'read',
    ok: 200,
  },
  {
    name: 'update site',
    method: 'patch',
    path: (f) => `/v1/sites/${f.site}`,
    ids: ['site'],
    body: { name: 'Store' },
    need: 'sites:write',
    ok: 200,
  },
  {
    name: 'delete site',
    method: 'delete',
    path: (f) => `/v1/sites/${f.site}`,
    ids: ['site'],
    need: 'sites:write',
    ok: 204,
  },
  {
    name: 'read site key',
    method: 'get',
    path: (f) => `/v1/sites/${f.site}/key`,
    ids: ['site'],
    need: 'site-keys:manage',
    ok: 200,
  },
  {
    name: 'rotate site key',
    method: 'post',
    path: (f) => `/v1/sites/${f.site}/key/rotate`,
    ids: ['site'],
    need: 'site-keys:manage',
    ok: 200,
  },
  {
    name: 'create rule',
    method: 'post',
    path: (f) => `/v1/sites/${f.site}/rules`,
    ids: ['site'],
    body: { name: 'Block SQLi', type: 'shield', config: {} },
    need: 'rules:write',
    ok: 201,
  },
  {
    name: 'list rules',
    method: 'get',
    path: (f) => `/v1/sites/${f.site}/rules`,
    ids: ['site'],
    need: 'read',
    ok: 200,
  },
  {
    name: 'get rule',
    method: 'get',
    path: (f) => `/v1/rules/${f.rule}`,
    ids: ['rule'],
    need: 'read',
    ok: 200,
  },
  {
    name: 'update rule',
    method: 'patch',
    path: (f) => `/v1/rules/${f.rule}`,
    ids: ['rule'],
    body: {
      name: 'Stricter',
      config: { algorithm: 'sliding_window', max: 5, intervalSeconds: 30 },
    },
    need: 'rules:write',
    ok: 200,
  },
  {
    name: 'promote rule',
    method: 'post',
    path: (f) => `/v1/rules/${f.rule}/promote`,
    ids: ['rule'],
    need: 'rules:write',
    ok: 200,
  },
  {
    name: 'demote rule',
    method: 'post',
    path: (f) => `/v1/rules/${f.rule}/demote`,
    ids: ['rule'],
    need: 'rules:write',
    ok: 200,
  },
  {
    name: 'delete rule',
    method: 'delete',
    path: (f) => `/v1/rules/${f.rule}`,
    ids: ['rule'],
    need: 'rules:write',
    ok: 204,
  },
];

const PREFIX: Record<keyof Fixture, string> = {
  team: 'team',
  site: 'site',
  rule: 'rule',
  extraMember: 'member',
};
const KIND: Record<keyof Fixture, 'team' | 'site' | 'rule' | 'member'> = {
  team: 'team',
  site: 'site',
  rule: 'rule',
  extraMember: 'member',
};

describe.each(DB_KINDS)('REST access policy on %s', (db) => {
  let t: TestApp;
  const tokens: Record<string, string> = {};
  let shared: Fixture;
  let fixtureCount = 0;

  const call = (route: Route, f: Fixture, token?: string, body = route.body) => {
    let req = request(t.url)[route.method](route.path(f));
    if (token) req = req.set('Authorization', `Bearer ${token}`);
    return body ? req.send(body) : req;
  };

  /** A team where alice owns, and bob, carol, dave hold admin, member, viewer. */
  async function fixture(): Promise<Fixture> {
    fixtureCount += 1;
    const owner = `Bearer ${tokens.owner}`;
    const team = await request(t.url)
      .post('/v1/teams')
      .set('Authorization', owner)
      .send({ name: `Team ${fixtureCount}` })
      .expect(201);
    const teamId = team.body.id as string;
    for (const [subject, role] of [
      ['bob', 'admin'],
      ['carol', 'member'],
      ['dave', 'viewer'],
    ]) {
      await request(t.url)
        .post(`/v1/teams/${teamId}/members`)
        .set('Authorization', owner)
        .send({ subject, role })
        .expect(201);
    }
    const extra = await request(t.url)
      .post(`/v1/teams/${teamId}/members`)
      .set('Authorization', owner)
      .send({ subject: `erin-${fixtureCount}`, role: 'viewer' })
      .expect(201);
    const site = await request(t.url)
      .post(`/v1/teams/${teamId}/sites`)
      .set('Authorization', owner)
      .send({ name: 'Site', domain: 'example.com' })
      .expect(201);
    const rule = await request(t.url)
      .post(`/v1/sites/${site.body.id}/rules`)
      .set('Authorization', owner)
      .send({
        name: 'Rate',
        type: 'rate_limit',
        config: { algorithm: 'fixed_window', max: 10, windowSeconds: 60 },
      })
      .expect(201);
    return { team: teamId, site: site.body.id, rule: rule.body.id, extraMember: extra.body.id };
  }

  beforeAll(async () => {
    t = await startApp(db);
    const mint = (sub: string, opts = {}) => t.issuer.token(sub, REST_AUDIENCE, opts);
    Object.assign(tokens, {
      owner: await mint('alice', { claims: { email: 'alice@example.com', email_verified: true } }),
      admin: await mint('bob'),
      member: await mint('carol'),
      viewer: await mint('dave'),
      outsider: await mint('mallory'),
      expired: await mint('alice', { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      wrongAudience: await t.issuer.token('alice', 'https://other-service.example/api'),
      wrongIssuer: await mint('alice', { issuer: 'https://evil.example' }),
      algNone: t.issuer.unsigned('alice', REST_AUDIENCE),
      hs256: await t.issuer.symmetric('alice', REST_AUDIENCE),
      readOnly: await mint('alice', { scope: 'bulwark:read' }),
    });
    shared = await fixture();
    // mallory owns a team of her own, so she is a real user, just not of alice's team.
    await request(t.url)
      .post('/v1/teams')
      .set('Authorization', `Bearer ${tokens.outsider}`)
      .send({ name: 'Other team' })
      .expect(201);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  describe.each(ROUTES)('$method $name', (route) => {
    it.each(['owner', 'admin', 'member', 'viewer'] as Role[])('as %s', async (role) => {
      const allowed = ALLOWED[route.need].includes(role);
      if (allowed) {
        const f = await fixture();
        const res = await call(route, f, tokens[role]);
        expect(res.status).toBe(route.ok);
        return;
      }
      const before = await rowCounts(t.dataSource);
      const res = await call(route, shared, tokens[role]);
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.detail).toContain(`Your role in this team is ${role}`);
      expect(await rowCounts(t.dataSource)).toEqual(before);
    });

    it.each(['none', 'expired', 'wrongAudience', 'wrongIssuer', 'algNone', 'hs256'])(
      'rejects token: %s',
      async (kind) => {
        const before = await rowCounts(t.dataSource);
        const res = await call(route, shared, kind === 'none' ? undefined : tokens[kind]);
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toContain(
          'resource_metadata="http://bulwark.test/.well-known/oauth-protected-resource/v1"',
        );
        if (kind !== 'none')
          expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
        expect(await rowCounts(t.dataSource)).toEqual(before);
      },
    );

    if (route.ids.length > 0) {
      it('answers another team exactly like a missing id', async () => {
        const before = await rowCounts(t.dataSource);
        const foreign = await call(route, shared, tokens.outsider);
        const missingIds = { ...shared };
        for (const key of route.ids) missingIds[key] = newId(KIND[key]);
        const missing = await call(route, missingIds, tokens.outsider);
        expect(foreign.status).toBe(404);
        expect(missing.status).toBe(404);
        const normalise = (body: Record<string, unknown>, ids: Fixture) => {
          let text = JSON.stringify({ ...body, requestId: undefined });
          for (const key of route.ids) text = text.replaceAll(ids[key], '<id>');
          return text;
        };
        expect(normalise(foreign.body, shared)).toBe(normalise(missing.body, missingIds));
        expect(await rowCounts(t.dataSource)).toEqual(before);
      });

      it.each(route.ids)('rejects a malformed %s with 400 naming the prefix', async (key) => {
        const before = await rowCounts(t.dataSource);
        const res = await call(
          route,
          {
            ...shared,
            [key]: `${PREFIX[key] === 'team' ? 'site' : 'team'}_01h455vb4pex5vsknk084sn02q`,
          },
          tokens.owner,
        );
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('invalid_id');
        expect(res.body.detail).toContain(`expected a TypeID with ${PREFIX[key]} prefix`);
        expect(res.body.detail).toMatch(/Call .*to get valid/);
        expect(await rowCounts(t.dataSource)).toEqual(before);
      });
    }

    if (route.body) {
      it('rejects unknown fields and wrong types, listing each', async () => {
        const before = await rowCounts(t.dataSource);
        const res = await call(route, shared, tokens.owner, {
          ...route.body,
          surprise: 1,
          another: 'x',
        });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('validation_failed');
        const fields = (res.body.errors as { field: string }[]).map((e) => e.field);
        expect(fields).toEqual(expect.arrayContaining(['surprise', 'another']));
        const wrongTypes = Object.fromEntries(Object.keys(route.body!).map((k) => [k, 12345]));
        const res2 = await call(route, shared, tokens.owner, wrongTypes);
        expect(res2.status).toBe(400);
        expect((res2.body.errors as unknown[]).length).toBeGreaterThanOrEqual(1);
        expect(await rowCounts(t.dataSource)).toEqual(before);
      });
    }

    if (route.need !== 'read' && route.need !== 'any' && route.method !== 'get') {
      it('refuses a read-only token with insufficient_scope', async () => {
        const before = await rowCounts(t.dataSource);
        const res = await call(route, shared, tokens.readOnly);
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('insufficient_scope');
        expect(res.headers['www-authenticate']).toContain(
          'error="insufficient_scope", scope="bulwark:write"',
        );
        expect(await rowCounts(t.dataSource)).toEqual(before);
      });
    }
  });
});
