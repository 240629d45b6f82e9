import { OAuthTestApp, startOAuthApp } from '../support/oauth';

jest.setTimeout(60_000);

const PUBLIC = 'https://bulwark.example.com';

async function json(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Every discovery document, field by field against its RFC, served by an app whose public
 * origin (BASE_URL) differs from the address it is reached on, as behind a reverse proxy.
 */
describe('OAuth discovery documents', () => {
  let server: OAuthTestApp;
  // Whatever a proxy or client says about the host, the documents name BASE_URL.
  const spoofed = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' };

  beforeAll(async () => {
    server = await startOAuthApp({
      BASE_URL: PUBLIC,
      TRUST_PROXY: 'loopback',
      ALLOWED_HOSTS: '127.0.0.1',
    });
  });
  afterAll(() => server.close());

  it('RFC 9728: protected resource metadata of /mcp, at the path-inserted and the root form', async () => {
    const expected = {
      resource: `${PUBLIC}/mcp`, // §2 REQUIRED, and §3.3: the resource the URL was built from
      authorization_servers: [PUBLIC], // §2: issuer identifiers, discoverable per RFC 8414
      scopes_supported: ['bulwark:read', 'bulwark:write'],
      bearer_methods_supported: ['header'], // header only: no tokens in query strings or bodies
      resource_name: 'Bulwark MCP server',
      resource_documentation: `${PUBLIC}/docs`,
    };
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const doc = await json(`${server.url}${path}`, spoofed);
      expect(doc).toEqual(expected);
    }
    expect(await json(`${server.url}/.well-known/oauth-protected-resource/v1`)).toMatchObject({
      resource: `${PUBLIC}/v1`,
      authorization_servers: [PUBLIC],
    });
  });

  it('RFC 8414: authorization server metadata naming Bulwark as issuer with its proxied endpoints', async () => {
    const doc = await json(`${server.url}/.well-known/oauth-authorization-server`, spoofed);
    // §2 REQUIRED fields, §3.3 issuer identical to the URL the document was derived from.
    expect(doc.issuer).toBe(PUBLIC);
    expect(doc.authorization_endpoint).toBe(`${PUBLIC}/oauth/auth`);
    expect(doc.token_endpoint).toBe(`${PUBLIC}/mcp/token`);
    expect(doc.registration_endpoint).toBe(`${PUBLIC}/mcp/register`);
    expect(doc.jwks_uri).toBe(`${PUBLIC}/oauth/jwks`);
    expect(doc.response_types_supported).toEqual(['code']);
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
    expect(doc.grant_types_supported).not.toContain('implicit');
    // RFC 7636 via RFC 8414 §2: S256 only, never plain.
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.token_endpoint_auth_methods_supported).toContain('none');
    expect(doc.scopes_supported).toEqual(
      expect.arrayContaining(['bulwark:read', 'bulwark:write', 'offline_access']),
    );
    expect(doc.revocation_endpoint).toBe(`${PUBLIC}/oauth/token/revocation`);
    // RFC 9207: the authorization response's iss is the upstream's; never promise it matches.
    expect(doc).not.toHaveProperty('authorization_response_iss_parameter_supported');
    // Every endpoint is absolute and https on an https deployment (§2: no query, no fragment).
    for (const [field, value] of Object.entries(doc)) {
      if (field.endsWith('_endpoint') || field === 'jwks_uri') {
        const url = new URL(value as string);
        expect(url.protocol).toBe('https:');
        expect(url.search + url.hash).toBe('');
      }
    }
    // Clients that try OpenID Connect discovery get the same document.
    expect(await json(`${server.url}/.well-known/openid-configuration`)).toEqual(doc);
  });

  it("keeps the built-in server's own document consistent with the published one", async () => {
    const own = await json(`${server.url}/oauth/.well-known/openid-configuration`, {
      host: 'evil.example',
      ...spoofed,
    });
    expect(own.issuer).toBe(PUBLIC);
    expect(own.authorization_endpoint).toBe(`${PUBLIC}/oauth/auth`);
    expect(own.token_endpoint).toBe(`${PUBLIC}/oauth/token`);
  });

  it('serves the server card, with the draft paths redirecting to it', async () => {
    const card = await json(`${server.url}/.well-known/mcp/server-card.json`, spoofed);
    expect(card).toEqual({
      $schema: 'https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json',
      name: 'dev.bulwark/bulwark',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      description: expect.any(String),
      remotes: [
        {
          type: 'streamable-http',
          url: `${PUBLIC}/mcp`,
          authentication: { required: true, schemes: ['oauth2'] },
        },
      ],
      capabilities: { tools: { listChanged: false } },
    });
    expect(card).not.toHaveProperty('tools');
    for (const path of ['/.well-known/mcp.json', '/.well-known/mcp-server']) {
      const res = await fetch(`${server.url}${path}`, { redirect: 'manual', headers: spoofed });
      expect(res.status).toBe(308);
      expect(res.headers.get('location')).toBe(`${PUBLIC}/.well-known/mcp/server-card.json`);
    }
  });

  it('challenges an unauthenticated /mcp with the resource metadata URL', async () => {
    const res = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${PUBLIC}/.well-known/oauth-protected-resource/mcp"`,
    );
  });
});

describe('per-IP limits behind a reverse proxy', () => {
  const register = (url: string, clientIp?: string) =>
    fetch(`${url}/mcp/register`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(clientIp ? { 'x-forwarded-for': clientIp } : {}),
      },
      body: JSON.stringify({
        redirect_uris: ['http://127.0.0.1:9/cb'],
        token_endpoint_auth_method: 'none',
      }),
    });

  /** Runs `test` against an app of its own (its limits start from zero), then stops the app. */
  async function withApp(
    env: Record<string, string>,
    test: (url: string) => Promise<void>,
  ): Promise<void> {
    const server = await startOAuthApp(env);
    try {
      await test(server.url);
    } finally {
      await server.close();
    }
  }

  it('counts each client address separately when TRUST_PROXY names the proxy', () =>
    withApp({ TRUST_PROXY: 'loopback' }, async (url) => {
      for (let i = 0; i < 30; i++) expect((await register(url, '203.0.113.1')).status).toBe(201);
      const limited = await register(url, '203.0.113.1');
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await limited.json()).toMatchObject({ error: 'temporarily_unavailable' });
      expect((await register(url, '203.0.113.2')).status).toBe(201);
    }));

  it('ignores X-Forwarded-For without TRUST_PROXY, so a client cannot pick a fresh address', () =>
    withApp({}, async (url) => {
      for (let i = 0; i < 30; i++)
        expect((await register(url, `198.51.100.${i}`)).status).toBe(201);
      expect((await register(url, '198.51.100.200')).status).toBe(429);
    }));

  it("limits the built-in server's own registration endpoint the same way, without counting the proxy's calls twice", () =>
    withApp({}, async (url) => {
      // 20 through the proxy: their inner calls to /oauth/reg are not counted again.
      for (let i = 0; i < 20; i++) expect((await register(url)).status).toBe(201);
      const direct = () =>
        fetch(`${url}/oauth/reg`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-bulwark-internal': 'guessed' },
          body: JSON.stringify({
            redirect_uris: ['http://127.0.0.1:9/cb'],
            token_endpoint_auth_method: 'none',
          }),
        });
      for (let i = 0; i < 10; i++) expect((await direct()).status).toBe(201);
      const limited = await direct();
      expect(limited.status).toBe(429);
      expect(await limited.json()).toMatchObject({ error: 'temporarily_unavailable' });
    }));
});
