import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { decodeJwt } from 'jose';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { SimulatedClock } from '../../src/common/clock';
import { OAuthRecords, UNUSED_CLIENT_TTL_SECONDS } from '../../src/oauth/oauth-records';
import { OAuthUpstream } from '../../src/oauth/upstream';
import {
  authorizationUrl,
  authorizeCode,
  CALLBACK,
  exchangeCode,
  freePort,
  obtainTokens,
  OAuthTestApp,
  openAuthorization,
  pkce,
  refreshTokens,
  registerClient,
  startOAuthApp,
  tokenRequest,
  USER,
} from '../support/oauth';
import { createTestDatabase, TestDatabase } from '../support/postgres';

jest.setTimeout(60_000);

const OTHER_RESOURCE = 'http://other.example/mcp';

/** tools/list on /mcp with `token`; status, challenge and JSON-RPC message. */
async function callMcp(baseUrl: string, token: string) {
  const res = await fetch(`${baseUrl}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  const body = (await res.json()) as { error?: { message: string }; result?: unknown };
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body };
}

function resign(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<
    string,
    unknown
  >;
  change(claims);
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
}

describe('OAuth rejections: tokens at /mcp and /v1', () => {
  const clock = new SimulatedClock();
  let server: OAuthTestApp;
  let other: OAuthTestApp;
  let tokens: Awaited<ReturnType<typeof obtainTokens>>;

  beforeAll(async () => {
    server = await startOAuthApp(
      { OAUTH_EXTRA_RESOURCES: OTHER_RESOURCE },
      { clock, users: [USER] },
    );
    other = await startOAuthApp({ OAUTH_EXTRA_RESOURCES: `${server.url}/mcp` }, { users: [USER] });
    tokens = await obtainTokens(server.url, USER);
  });
  afterAll(async () => {
    await server?.close();
    await other?.close();
  });

  it('accepts the genuine token (the baseline every case below breaks one thing of)', async () => {
    const { status, body } = await callMcp(server.url, tokens.access_token);
    expect(status).toBe(200);
    expect(body.result).toBeDefined();
  });

  const cases: [string, () => string | Promise<string>, RegExp][] = [
    [
      'a token for another resource (wrong audience)',
      async () => (await obtainTokens(server.url, USER, { resource: OTHER_RESOURCE })).access_token,
      /another audience/,
    ],
    [
      'a token from another issuer',
      async () =>
        (await obtainTokens(other.url, USER, { resource: `${server.url}/mcp` })).access_token,
      /could not be verified|issuer this server does not trust/,
    ],
    [
      'an unsigned token (alg: none)',
      () => {
        const claims = decodeJwt(tokens.access_token);
        const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${enc({ alg: 'none', typ: 'at+jwt' })}.${enc(claims)}.`;
      },
      /could not be verified|algorithm/,
    ],
    [
      'a token whose claims were changed after signing',
      () => resign(tokens.access_token, (c) => (c.sub = 'user_someone_else')),
      /could not be verified/,
    ],
  ];

  it.each(cases)('rejects %s with 401 invalid_token', async (_name, make, message) => {
    const token = await make();
    const mcp = await callMcp(server.url, token);
    expect(mcp.status).toBe(401);
    expect(mcp.challenge).toBe(
      `Bearer error="invalid_token", resource_metadata="${server.url}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(mcp.body.error?.message).toMatch(message);
    const rest = await fetch(`${server.url}/v1/teams`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(rest.status).toBe(401);
    expect(rest.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('rejects an expired token, and accepts none once the clock passes its exp', async () => {
    const fresh = await obtainTokens(server.url, USER);
    expect((await callMcp(server.url, fresh.access_token)).status).toBe(200);
    clock.set(Date.now() + 20 * 60_000);
    try {
      const { status, body } = await callMcp(server.url, fresh.access_token);
      expect(status).toBe(401);
      expect(body.error?.message).toMatch(/expired/);
    } finally {
      clock.set(Date.now());
    }
  });

  it('answers a write with a read-only token 403 insufficient_scope naming the scope (step-up)', async () => {
    const readOnly = await obtainTokens(server.url, USER, {
      scope: 'bulwark:read',
      resource: `${server.url}/v1`,
    });
    expect(decodeJwt(readOnly.access_token).scope).toBe('bulwark:read');
    const res = await fetch(`${server.url}/v1/teams`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${readOnly.access_token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: 'Nope' }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="bulwark:write", resource_metadata="${server.url}/.well-known/oauth-protected-resource/v1"`,
    );
  });
});

describe('OAuth rejections: the authorization and token endpoints', () => {
  let server: OAuthTestApp;

  beforeAll(async () => {
    server = await startOAuthApp({}, { users: [USER] });
  });
  afterAll(() => server?.close());

  it('rejects a reused refresh token, and then the whole grant (rotation reuse detection)', async () => {
    const first = await obtainTokens(server.url, USER);
    const refresh = (token: string) => refreshTokens(server.url, token, first.client_id);
    const rotated = await refresh(first.refresh_token!);
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(first.refresh_token);
    const reused = await refresh(first.refresh_token!);
    expect(reused).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // A stolen-and-used token cannot be told from the real one, so both stop working.
    const afterReuse = await refresh(rotated.body.refresh_token as string);
    expect(afterReuse).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('rejects a revoked refresh token', async () => {
    const tokens = await obtainTokens(server.url, USER);
    const revoke = await fetch(`${server.url}/oauth/token/revocation`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token!, client_id: tokens.client_id }),
    });
    expect(revoke.status).toBe(200);
    const refresh = await refreshTokens(server.url, tokens.refresh_token!, tokens.client_id);
    expect(refresh).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('never redirects to a redirect URI the client did not register', async () => {
    const client = await registerClient(server.url);
    const { challenge } = pkce();
    const res = await fetch(
      authorizationUrl(server.url, {
        client_id: client.client_id,
        response_type: 'code',
        redirect_uri: 'https://attacker.example/steal',
        scope: 'bulwark:read',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('redirect_uri did not match any of the client');
  });

  it('refuses an authorization request without PKCE, and a plain-method one', async () => {
    const client = await registerClient(server.url);
    for (const pkceParams of [
      {},
      { code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' },
    ]) {
      const { browser } = await openAuthorization(server.url, client.client_id, {
        state: 's',
        code_challenge: undefined,
        code_challenge_method: undefined,
        ...pkceParams,
      });
      expect(browser.leftTo?.searchParams.get('error')).toBe('invalid_request');
      expect(browser.leftTo?.searchParams.get('error_description')).toMatch(/PKCE|code_challenge/);
    }
  });

  it('refuses a code exchanged with the wrong verifier', async () => {
    const { client, code } = await authorizeCode(server.url, USER, { scope: 'bulwark:read' });
    const exchange = await exchangeCode(server.url, { client, code, verifier: pkce().verifier });
    expect(exchange).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it.each<[string, RequestInit, number, string]>([
    [
      'an oversized body',
      {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          redirect_uris: ['http://127.0.0.1:9/cb'],
          client_name: 'x'.repeat(20_000),
        }),
      },
      413,
      'invalid_request',
    ],
    [
      'malformed JSON',
      { headers: { 'content-type': 'application/json' }, body: '{"redirect_uris": [' },
      400,
      'invalid_client_metadata',
    ],
    [
      'a JSON array',
      { headers: { 'content-type': 'application/json' }, body: '[]' },
      400,
      'invalid_client_metadata',
    ],
    [
      'a form body',
      { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=b' },
      400,
      'invalid_request',
    ],
    [
      'metadata without redirect URIs (passed through from the authorization server)',
      { headers: { 'content-type': 'application/json' }, body: '{"client_name":"x"}' },
      400,
      'invalid_redirect_uri',
    ],
  ])(
    'refuses a registration with %s, as an OAuth JSON error',
    async (_name, init, status, error) => {
      const res = await fetch(`${server.url}/mcp/register`, { method: 'POST', ...init });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.json()).toMatchObject({ error, error_description: expect.any(String) });
    },
  );

  it('refuses a token request that is not a form, as an OAuth JSON error', async () => {
    const res = await fetch(`${server.url}/mcp/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"grant_type":"refresh_token"}',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request' });
  });
});

describe('OAuth rejections: limits of /oauth/reg and /oauth/token, however the path is spelt', () => {
  let server: OAuthTestApp;
  let records: DataSource;

  beforeAll(async () => {
    // Each test comes from its own address (X-Forwarded-For, believed from loopback).
    server = await startOAuthApp({ TRUST_PROXY: 'loopback' }, { users: [USER] });
    records = server.app.get(DataSource);
  });
  afterAll(() => server?.close());

  const metadata = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      client_name: 'Direct registration',
      redirect_uris: ['http://127.0.0.1:9/callback'],
      token_endpoint_auth_method: 'none',
      ...extra,
    });
  const post = (path: string, from: string, init: RequestInit) =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      ...init,
      headers: { 'x-forwarded-for': from, ...(init.headers as Record<string, string>) },
    });
  const register = (path: string, from: string, body = metadata()) =>
    post(path, from, { headers: { 'content-type': 'application/json' }, body });
  const clients = async () =>
    (
      await records.query<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM oauth_records WHERE model = 'Client'`,
      )
    )[0].n;

  it('limits registrations per address on every spelling of the registration endpoint', async () => {
    const from = '192.0.2.10';
    for (let i = 0; i < 30; i++) expect((await register('/oauth/reg', from)).status).toBe(201);
    const before = await clients();
    for (const path of ['/OAUTH/reg', '/oauth/reg/', '/oauth/REG', '/Oauth/Reg//']) {
      const res = await register(path, from);
      expect({ path, status: res.status }).toEqual({ path, status: 429 });
      expect(await res.json()).toMatchObject({ error: 'temporarily_unavailable' });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(await clients()).toBe(before);
    // The limit is the address's: another one registers.
    expect((await register('/OAUTH/reg/', '192.0.2.11')).status).toBe(201);
  });

  it('limits token requests per address on every spelling of the token endpoint', async () => {
    const from = '192.0.2.20';
    const form = {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=nope&client_id=nope',
    };
    for (let i = 0; i < 120; i++) {
      expect((await post('/oauth/token', from, form)).status).not.toBe(429);
    }
    for (const path of ['/OAUTH/token', '/oauth/token/', '/oauth/TOKEN']) {
      const res = await post(path, from, form);
      expect({ path, status: res.status }).toEqual({ path, status: 429 });
    }
  });

  it('caps registrations at 16 kB on every spelling, and refuses chunked ones', async () => {
    const from = '192.0.2.30';
    const big = metadata({ client_name: 'x'.repeat(20_000) });
    for (const path of ['/oauth/reg', '/OAUTH/reg', '/oauth/reg/']) {
      const res = await register(path, from, big);
      expect({ path, status: res.status }).toEqual({ path, status: 413 });
      expect(await res.json()).toMatchObject({
        error: 'invalid_request',
        error_description: 'The request body exceeds 16 kB.',
      });
    }
    // A chunked body has no length to check before oidc-provider reads it.
    const bytes = new TextEncoder().encode(metadata());
    const chunked = await post('/OAUTH/reg', from, {
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      }),
      duplex: 'half',
    });
    expect(chunked.status).toBe(411);
    expect(await chunked.json()).toMatchObject({
      error: 'invalid_request',
      error_description: expect.stringContaining('Content-Length'),
    });
    // Within the cap, any spelling registers.
    const fine = await register('/OAUTH/reg/', from, metadata({ client_name: 'x'.repeat(10_000) }));
    expect(fine.status).toBe(201);
  });

  it('expires a registered client nobody approves, and keeps one a user approved', async () => {
    const expiry = (id: string) =>
      records.query<{ seconds: number | null }[]>(
        `SELECT extract(epoch FROM expires_at - now())::int AS seconds
           FROM oauth_records WHERE model = 'Client' AND id = $1`,
        [id],
      );
    const unused = (await (await register('/oauth/reg', '192.0.2.40')).json()) as {
      client_id: string;
    };
    const [{ seconds }] = await expiry(unused.client_id);
    expect(seconds).toBeGreaterThan(UNUSED_CLIENT_TTL_SECONDS - 60);
    expect(seconds).toBeLessThanOrEqual(UNUSED_CLIENT_TTL_SECONDS);
    // Signing in and approving saves a grant, which keeps the client for good.
    const used = await obtainTokens(server.url, USER);
    expect(await expiry(used.client_id)).toEqual([{ seconds: null }]);

    // A week later (its expiry moved to the past): unknown to the server, then swept.
    await records.query(
      `UPDATE oauth_records SET expires_at = now() - interval '1 second'
        WHERE model = 'Client' AND id = $1`,
      [unused.client_id],
    );
    const { challenge } = pkce();
    const authorize = await fetch(
      authorizationUrl(server.url, {
        client_id: unused.client_id,
        response_type: 'code',
        redirect_uri: CALLBACK,
        code_challenge: challenge,
        code_challenge_method: 'S256',
      }),
      { redirect: 'manual' },
    );
    expect(authorize.status).toBe(400);
    expect(await authorize.text()).toContain('invalid_client');
    expect(await new OAuthRecords(records).sweep()).toBeGreaterThanOrEqual(1);
    expect(await expiry(unused.client_id)).toEqual([]);
    expect(await expiry(used.client_id)).toEqual([{ seconds: null }]);
    const refreshed = await refreshTokens(server.url, used.refresh_token!, used.client_id);
    expect(refreshed.status).toBe(200);
  });
});

describe.each(['pglite', 'postgres'] as const)(
  'OAuth rejections: codes and refresh tokens are single-use under concurrency (%s)',
  (db) => {
    let server: OAuthTestApp;
    let database: TestDatabase | undefined;

    beforeAll(async () => {
      if (db === 'postgres') database = await createTestDatabase();
      server = await startOAuthApp(
        database
          ? { DATABASE_URL: database.url, ENCRYPTION_KEY: randomBytes(32).toString('base64') }
          : {},
        { users: [USER] },
      );
    });
    afterAll(async () => {
      await server?.close();
      await database?.drop();
    });

    /**
     * Exactly one of three answers won (the others: invalid_grant), and the grant is gone for it
     * too: something was used twice, so the winner's refresh token is useless.
     */
    async function expectOneWinnerThenRevoked(
      answers: { status: number; body: Record<string, unknown> }[],
      clientId: string,
    ): Promise<void> {
      expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400]);
      for (const lost of answers.filter((a) => a.status !== 200)) {
        expect(lost.body).toMatchObject({ error: 'invalid_grant' });
      }
      const won = answers.find((a) => a.status === 200)!;
      expect(
        await refreshTokens(server.url, won.body.refresh_token as string, clientId),
      ).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    }

    /**
     * Sends `request` three times at once. On PostgreSQL the race is made certain rather than
     * left to timing: another connection holds the code's or token's row lock (as a slow
     * instance would), so all three have read it unconsumed and wait to mark it before any
     * does. PGlite runs one query at a time, and the three interleave between their queries.
     */
    async function threeAtOnce<T>(model: string, id: string, request: () => Promise<T>) {
      if (!database) return Promise.all([request(), request(), request()]);
      const holder = new Client({ connectionString: database.url });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT 1 FROM oauth_records WHERE model = $1 AND id = $2 FOR UPDATE`, [
          model,
          id,
        ]);
        const answers = Promise.all([request(), request(), request()]);
        for (let waiting = 0, polls = 0; waiting < 3; polls++) {
          if (polls === 250) throw new Error(`only ${waiting} of 3 requests reached the row lock`);
          await new Promise((r) => setTimeout(r, 20));
          // Activity statistics are a snapshot kept for the transaction unless cleared.
          await holder.query('SELECT pg_stat_clear_snapshot()');
          const [row] = (
            await holder.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM pg_stat_activity
                WHERE datname = current_database() AND wait_event_type = 'Lock'`,
            )
          ).rows;
          waiting = row.n;
        }
        await holder.query('COMMIT');
        return await answers;
      } finally {
        await holder.end();
      }
    }

    it('exchanges a code sent three times at once exactly once, then revokes the grant', async () => {
      const { client, code, verifier } = await authorizeCode(server.url, USER, {
        scope: 'bulwark:read',
      });
      const answers = await threeAtOnce('AuthorizationCode', code, () =>
        exchangeCode(server.url, { client, code, verifier }),
      );
      await expectOneWinnerThenRevoked(answers, client.client_id);
    });

    it('rotates a refresh token sent three times at once exactly once, then revokes the grant', async () => {
      const tokens = await obtainTokens(server.url, USER);
      const answers = await threeAtOnce('RefreshToken', tokens.refresh_token!, () =>
        refreshTokens(server.url, tokens.refresh_token!, tokens.client_id),
      );
      await expectOneWinnerThenRevoked(answers, tokens.client_id);
    });
  },
);

describe('OAuth rejections: the upstream provider is down', () => {
  let dead: Server;
  let app: OAuthTestApp;
  let issuer: string;

  beforeAll(async () => {
    // An address that accepts connections and never answers: the worst case for timeouts.
    dead = createServer(() => undefined);
    const port = await freePort();
    await new Promise<void>((resolve) => dead.listen(port, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${port}`;
    let connected = 0;
    dead.on('connection', () => connected++);
    app = await startOAuthApp({ OAUTH_ISSUER: issuer }, {}, false);
    // Start-up did not wait for the provider: the app serves while its first metadata request
    // is still hanging (it times out after 5 s).
    await new Promise((r) => setTimeout(r, 200));
    expect(connected).toBe(1);
    const early = await fetch(`${app.url}/mcp`, { method: 'POST' });
    expect(early.status).toBe(503);
    await app.app.get(OAuthUpstream).ready();
  });
  afterAll(async () => {
    await app?.close();
    dead.closeAllConnections();
    await new Promise((r) => dead.close(r));
  });

  it('answers /mcp 503 naming the provider, and the OAuth endpoints with OAuth errors', async () => {
    const mcp = await fetch(`${app.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x.y.z' },
      body: '{}',
    });
    expect(mcp.status).toBe(503);
    expect(((await mcp.json()) as { error: { message: string } }).error.message).toContain(
      `The OAuth provider ${issuer} has not answered`,
    );
    const meta = await fetch(`${app.url}/.well-known/oauth-authorization-server`);
    expect(meta.status).toBe(503);
    expect(await meta.json()).toMatchObject({ error: 'temporarily_unavailable' });
    const token = await tokenRequest(app.url, { grant_type: 'refresh_token', refresh_token: 'x' });
    expect(token).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    // The protected-resource document does not depend on the provider.
    expect((await fetch(`${app.url}/.well-known/oauth-protected-resource/mcp`)).status).toBe(200);
  });
});
