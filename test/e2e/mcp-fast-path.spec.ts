import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import request from 'supertest';
import { TokenVerifier } from '../../src/auth/token-verifier';
import { McpEndpoint } from '../../src/mcp/mcp.endpoint';
import { MCP_AUDIENCE, REST_AUDIENCE, startApp, TestApp } from '../support/app';
import { CLIENT_KINDS, connect } from '../support/mcp';

/**
 * tools/call and tools/list are answered by McpFastPath without the SDK's per-request protocol
 * instance. Its answers must be the SDK's, byte for byte: every request below goes to the app
 * (fast path when it takes the request) and to a server that always answers through the SDK
 * (McpEndpoint.serveWithSdk), and the two answers are compared. Requests outside the fast path's
 * canonical shapes must reach the SDK.
 */

const MODERN_META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'bulwark-test', version: '2.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};
const ACCEPT = 'application/json, text/event-stream';

type Message = Record<string, unknown>;
interface Case {
  name: string;
  headers: Record<string, string>;
  body: Message | unknown[];
  /** Whether the fast path answers it (else the SDK). */
  fast: boolean;
}

function legacy(body: Message, fast: boolean, headers: Record<string, string> = {}): Case {
  return {
    name: `2025-11-25 ${String(body.method)}`,
    headers: { accept: ACCEPT, 'mcp-protocol-version': '2025-11-25', ...headers },
    body,
    fast,
  };
}

function modern(body: Message, fast: boolean, headers: Record<string, string> = {}): Case {
  const params = (body.params ?? {}) as Message;
  return {
    name: `2026-07-28 ${String(body.method)}`,
    headers: {
      accept: ACCEPT,
      'mcp-protocol-version': '2026-07-28',
      'mcp-method': String(body.method),
      ...(typeof params.name === 'string' ? { 'mcp-name': params.name } : {}),
      ...headers,
    },
    body: { ...body, params: { ...params, _meta: MODERN_META } },
    fast,
  };
}

const call = (id: unknown, name: string, args?: unknown, extra: Message = {}) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name, ...(args === undefined ? {} : { arguments: args }), ...extra },
});

describe('MCP fast path', () => {
  let t: TestApp;
  let sdk: Server;
  let sdkUrl: string;
  let readToken: string;
  let writeToken: string;
  let teamId: string;
  let siteId: string;
  let foreignTeamId: string;

  beforeAll(async () => {
    t = await startApp('pglite');
    const rest = await t.issuer.token('alice', REST_AUDIENCE);
    const team = await request(t.url)
      .post('/v1/teams')
      .set({ Authorization: `Bearer ${rest}` })
      .send({ name: 'Acme' })
      .expect(201);
    teamId = team.body.id;
    for (const n of [1, 2, 3]) {
      const site = await request(t.url)
        .post(`/v1/teams/${teamId}/sites`)
        .set({ Authorization: `Bearer ${rest}` })
        .send({ name: `Shop ${n}`, domain: `shop${n}.example.com` })
        .expect(201);
      siteId = site.body.id;
    }
    const other = await request(t.url)
      .post('/v1/teams')
      .set({ Authorization: `Bearer ${await t.issuer.token('bob', REST_AUDIENCE)}` })
      .send({ name: 'Other' })
      .expect(201);
    foreignTeamId = other.body.id;
    readToken = await t.issuer.token('alice', MCP_AUDIENCE, { scope: 'bulwark:read' });
    writeToken = await t.issuer.token('alice', MCP_AUDIENCE);

    // The model: the same endpoint, always through the SDK.
    const endpoint = t.app.get(McpEndpoint);
    const verifier = t.app.get(TokenVerifier);
    sdk = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const token = req.headers.authorization!.slice('Bearer '.length);
        void verifier.verify(token, 'mcp').then((actor) =>
          endpoint.serveWithSdk(req, res, JSON.parse(Buffer.concat(chunks).toString('utf8')), {
            actor,
            requestId: 'model',
          }),
        );
      });
    });
    await new Promise<void>((resolve) => sdk.listen(0, '127.0.0.1', resolve));
    sdkUrl = `http://127.0.0.1:${(sdk.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await new Promise((resolve) => sdk?.close(resolve));
    await t?.close();
  });

  const cases = (): Case[] => [
    // Taken by the fast path.
    legacy(call(1, 'list-sites', { teamId }), true),
    legacy(call('abc', 'list-sites', { teamId, limit: 2 }), true),
    legacy(call(2, 'list-sites', { teamId: foreignTeamId }), true),
    legacy(call(3, 'list-sites', { teamId: 'site_nope' }), true),
    legacy(call(4, 'list-sites', { teamId, limit: 500 }), true),
    legacy(call(5, 'list-sites', { teamId, color: 'red' }), true),
    legacy(call(6, 'list-teams'), true),
    legacy(call(7, 'list-rules', { siteId }, { _meta: { progressToken: 9 } }), true),
    legacy(call(8, 'get-rule', { ruleId: 'rule_01jz0000000000000000000000' }), true),
    legacy({ jsonrpc: '2.0', id: 9, method: 'tools/list' }, true),
    legacy({ jsonrpc: '2.0', id: 10, method: 'tools/list', params: {} }, true),
    legacy(call(11, 'list-sites', { teamId }), true, { 'mcp-protocol-version': '2025-06-18' }),
    modern(call(0, 'list-sites', { teamId }), true),
    modern(call('m1', 'list-sites', { teamId: foreignTeamId }), true),
    modern(call(2, 'list-sites', { teamId: 'nope' }), true),
    modern(call(3, 'list-teams', {}), true),
    modern({ jsonrpc: '2.0', id: 4, method: 'tools/list' }, true),
    // Left to the SDK.
    legacy(call(20, 'no-such-tool', {}), false),
    legacy(call(21, 'list-sites', [teamId]), false),
    legacy(call(22, 'list-sites', { teamId }, { task: { ttl: 1000 } }), false),
    legacy(call(23, 'list-sites', { teamId }), false, { accept: 'application/json' }),
    legacy(call(24, 'list-sites', { teamId }), false, { 'mcp-protocol-version': '1999-01-01' }),
    legacy(call(1.5, 'list-sites', { teamId }), false),
    legacy({ jsonrpc: '2.0', id: 25, method: 'ping' }, false),
    legacy({ jsonrpc: '2.0', method: 'notifications/initialized' }, false),
    legacy({ ...call(26, 'list-sites', { teamId }), extra: true }, false),
    {
      ...legacy(call(27, 'list-sites', { teamId }), false),
      body: [call(27, 'list-sites', { teamId })],
    },
    modern(call(30, 'list-sites', { teamId }), false, { 'mcp-name': 'list-teams' }),
    modern(call(31, 'list-sites', { teamId }), false, { 'mcp-method': 'tools/list' }),
    modern(call(32, 'no-such-tool', {}), false),
    modern({ jsonrpc: '2.0', id: 33, method: 'ping' }, false),
    {
      ...modern(call(34, 'list-sites', { teamId }), false),
      body: {
        ...call(34, 'list-sites', { teamId }),
        params: {
          name: 'list-sites',
          arguments: { teamId },
          _meta: { ...MODERN_META, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' },
        },
      },
    },
    {
      ...modern(call(35, 'list-sites', { teamId }), false),
      body: {
        ...call(35, 'list-sites', { teamId }),
        params: { name: 'list-sites', arguments: { teamId }, _meta: { ...MODERN_META, x: 1 } },
      },
    },
  ];

  it.each(CLIENT_KINDS)(
    'takes tools/call and tools/list as the %s client sends them',
    async (kind) => {
      const client = await connect(kind, t.url, writeToken);
      const viaSdk = jest.spyOn(t.app.get(McpEndpoint), 'serveWithSdk');
      try {
        const result = await client.call('list-sites', { teamId });
        expect(result.isError).toBeFalsy();
        expect((await client.listTools()).length).toBeGreaterThan(0);
        expect(viaSdk).not.toHaveBeenCalled();
      } finally {
        viaSdk.mockRestore();
        await client.close();
      }
    },
  );

  it.each([
    ['a read-only token', () => readToken],
    ['a read-write token', () => writeToken],
  ])('answers exactly like the SDK, for %s', async (_, token) => {
    const endpoint = t.app.get(McpEndpoint);
    const viaSdk = jest.spyOn(endpoint, 'serveWithSdk');
    const problems: string[] = [];
    try {
      for (const c of cases()) {
        const headers = {
          ...c.headers,
          'content-type': 'application/json',
          authorization: `Bearer ${token()}`,
        };
        const sent = JSON.stringify(c.body);
        const before = viaSdk.mock.calls.length;
        const app = await fetch(`${t.url}/mcp`, { method: 'POST', headers, body: sent });
        const fast = viaSdk.mock.calls.length === before;
        const model = await fetch(`${sdkUrl}/mcp`, { method: 'POST', headers, body: sent });
        const label = `${c.name} ${sent}:`;
        if (fast !== c.fast) problems.push(`${label} ${fast ? 'fast path' : 'SDK'}`);
        if (app.status !== model.status) problems.push(`${label} ${app.status} != ${model.status}`);
        const [type, modelType] = [app, model].map((r) => r.headers.get('content-type'));
        if (type !== modelType) problems.push(`${label} ${type} != ${modelType}`);
        const [body, modelBody] = [await app.text(), await model.text()];
        if (body !== modelBody) problems.push(`${label}\n  ${body}\n  !=\n  ${modelBody}`);
      }
      expect(problems).toEqual([]);
    } finally {
      viaSdk.mockRestore();
    }
  });
});

/**
 * Authorization is never served stale: a membership or site change made a moment ago decides
 * the very next call, on the instance that made it (embedded mode, read cache on) and on another
 * instance sharing the database (PostgreSQL, cache off).
 */
describe.each([
  ['one embedded instance', 'pglite'],
  ['two instances on one PostgreSQL database', 'postgres'],
] as const)('MCP authorization freshness: %s', (_, kind) => {
  let a: TestApp;
  let b: TestApp;
  let shared = false;

  beforeAll(async () => {
    a = await startApp(kind);
    if (kind === 'postgres') {
      shared = true;
      b = await startApp('pglite', {
        DATABASE_URL: a.env.DATABASE_URL,
        ENCRYPTION_KEY: a.env.ENCRYPTION_KEY,
        OAUTH_ISSUER: a.env.OAUTH_ISSUER,
      });
    } else {
      b = a;
    }
  }, 60_000);
  afterAll(async () => {
    if (shared) await b?.close();
    await a?.close();
  });

  const listSites = async (app: TestApp, token: string, teamId: string) => {
    const res = await request(app.url)
      .post('/mcp')
      .set({
        Authorization: `Bearer ${token}`,
        Accept: ACCEPT,
        'MCP-Protocol-Version': '2025-11-25',
      })
      .send(call(1, 'list-sites', { teamId }))
      .expect(200);
    return res.body.result as {
      isError?: boolean;
      content: { text: string }[];
      structuredContent?: { items: { id: string }[] };
    };
  };

  it('sees membership and site changes made through the other instance at once', async () => {
    const ownerRest = await a.issuer.token('olivia', REST_AUDIENCE);
    const owner = { Authorization: `Bearer ${ownerRest}` };
    const team = await request(a.url).post('/v1/teams').set(owner).send({ name: 'T' }).expect(201);
    const teamId = team.body.id as string;
    // Tokens of one issuer: `a`'s, which `b` trusts too.
    const dan = await a.issuer.token('dan', MCP_AUDIENCE);
    const notFound = /exists or you do not have access/;

    // Not a member: not found, then cached as such on `b`.
    for (let i = 0; i < 2; i++) {
      const refused = await listSites(b, dan, teamId);
      expect(refused.isError).toBe(true);
      expect(refused.content[0].text).toMatch(notFound);
    }
    const added = await request(a.url)
      .post(`/v1/teams/${teamId}/members`)
      .set(owner)
      .send({ subject: 'dan', role: 'viewer' })
      .expect(201);
    expect((await listSites(b, dan, teamId)).structuredContent!.items).toEqual([]);

    const site = await request(a.url)
      .post(`/v1/teams/${teamId}/sites`)
      .set(owner)
      .send({ name: 'S', domain: 's.example.com' })
      .expect(201);
    expect((await listSites(b, dan, teamId)).structuredContent!.items.map((s) => s.id)).toEqual([
      site.body.id,
    ]);
    await request(a.url).delete(`/v1/sites/${site.body.id}`).set(owner).expect(204);
    expect((await listSites(b, dan, teamId)).structuredContent!.items).toEqual([]);

    await request(a.url).delete(`/v1/teams/${teamId}/members/${added.body.id}`).set(owner);
    const removed = await listSites(b, dan, teamId);
    expect(removed.isError).toBe(true);
    expect(removed.content[0].text).toMatch(notFound);
  });
});
