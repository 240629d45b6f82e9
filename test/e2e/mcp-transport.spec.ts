import request from 'supertest';
import { BASE_URL, MCP_AUDIENCE, startApp, TestApp } from '../support/app';

/** The 2025-era wire: plain JSON-RPC POSTs, no per-request envelope. */
const LEGACY_HEADERS = {
  Accept: 'application/json, text/event-stream',
  'MCP-Protocol-Version': '2025-11-25',
};

describe('MCP transport over plain HTTP', () => {
  let t: TestApp;
  let token: string;

  beforeAll(async () => {
    t = await startApp('pglite');
    token = await t.issuer.token('alice', MCP_AUDIENCE);
  }, 60_000);
  afterAll(() => t?.close());

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    request(t.url)
      .post('/mcp')
      .set({ ...LEGACY_HEADERS, Authorization: `Bearer ${token}`, ...headers })
      .send(body as object);

  it('answers 401 with the protected resource metadata URL when no token is sent', async () => {
    const res = await request(t.url)
      .post('/mcp')
      .set(LEGACY_HEADERS)
      .send({ jsonrpc: '2.0', id: 1, method: 'tools/list' })
      .expect(401);
    expect(res.headers['www-authenticate']).toBe(
      `Bearer resource_metadata="${BASE_URL}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(res.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32000 } });
    expect(res.body.error.message).toContain('Authorization: Bearer');
  });

  it('rejects a token minted for another resource', async () => {
    const foreign = await t.issuer.token('alice', 'https://other.example.com/mcp');
    const res = await post(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      {
        Authorization: `Bearer ${foreign}`,
      },
    ).expect(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
  });

  it('answers tools/list with JSON, not an SSE stream, and sends no session id', async () => {
    const res = await post({ jsonrpc: '2.0', id: 7, method: 'tools/list' }).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['mcp-session-id']).toBeUndefined();
    expect(res.body.id).toBe(7);
    expect(res.body.result.tools.length).toBeGreaterThan(0);
  });

  it('answers 413 past the body size limit, before anything runs', async () => {
    const res = await post({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'list-teams', arguments: { cursor: 'x'.repeat(150_000) } },
    }).expect(413);
    expect(res.body).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 } });
    expect(res.body.error.message).toContain('100 kB');
  });

  it('answers malformed JSON with a JSON-RPC parse error, never a 500', async () => {
    const res = await post('{"jsonrpc": "2.0", "id": 1, "method": ', {
      'Content-Type': 'application/json',
    }).expect(400);
    expect(res.body).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it.each([
    ['an object that is not JSON-RPC', { hello: 'world' }],
    ['a request without a method', { jsonrpc: '2.0', id: 1 }],
    ['a wrong jsonrpc version', { jsonrpc: '1.0', id: 1, method: 'tools/list' }],
    ['an array of garbage', [1, 2, 3]],
  ])('answers %s with a JSON-RPC error, never a 500', async (_, body) => {
    const res = await post(body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
  });

  it('answers an unknown method with -32601 and an unknown tool with -32602', async () => {
    const method = await post({ jsonrpc: '2.0', id: 2, method: 'tools/destroy' }).expect(200);
    expect(method.body.error.code).toBe(-32601);
    const tool = await post({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'drop-database', arguments: {} },
    }).expect(200);
    expect(tool.body.error.code).toBe(-32602);
    expect(tool.body.error.message).toContain('tools/list');
  });

  it('refuses a body that is not JSON with 415', async () => {
    const res = await post('tools/list', { 'Content-Type': 'text/plain' }).expect(415);
    expect(res.body.error.message).toContain('application/json');
  });

  it.each(['get', 'delete'] as const)(
    'answers %s with 405 and Allow: POST, as a stateless server must',
    async (method) => {
      const res = await request(t.url)
        [method]('/mcp')
        .set({ ...LEGACY_HEADERS, Authorization: `Bearer ${token}` })
        .expect(405);
      expect(res.headers.allow).toBe('POST');
    },
  );

  it('refuses a foreign Host or Origin (DNS rebinding) with 403', async () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/list' };
    const refused = await post(body, { Host: 'evil.example.com' }).expect(403);
    expect(refused.body.error.message).toContain('evil.example.com');
    expect(refused.body.error.message).toContain('ALLOWED_HOSTS');
    await post(body, { Origin: 'http://evil.example.com' }).expect(403);
    await post(body, { Host: 'bulwark.test' }).expect(200);
    await post(body, { Origin: 'http://127.0.0.1:5173' }).expect(200);
  });

  it('records the call in the request log and metrics like any REST route', async () => {
    const res = await post(
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      {
        'X-Request-Id': 'mcp-trace-1',
      },
    ).expect(200);
    expect(res.headers['x-request-id']).toBe('mcp-trace-1');
    const metrics = await request(t.url).get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /bulwark_http_requests_total\{method="POST",route="\/mcp",status="200"\} \d+/,
    );
  });
});
