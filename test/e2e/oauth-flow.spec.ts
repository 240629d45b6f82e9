import {
  auth as authV2,
  Client as ClientV2,
  StreamableHTTPClientTransport as TransportV2,
} from '@modelcontextprotocol/client';
import { auth as authV1 } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as TransportV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import {
  freePort,
  MemoryOAuthClient,
  OAuthTestApp,
  signInAndConsent,
  startOAuthApp,
  USER,
} from '../support/oauth';

jest.setTimeout(60_000);

type Sdk = 'v1' | 'v2';
const runAuth = (
  sdk: Sdk,
  client: MemoryOAuthClient,
  serverUrl: string,
  authorizationCode?: string,
  iss?: string,
) =>
  sdk === 'v1'
    ? authV1(client, { serverUrl, authorizationCode })
    : authV2(client, { serverUrl, authorizationCode, iss });

async function listAndCall(sdk: Sdk, client: MemoryOAuthClient, serverUrl: string) {
  const url = new URL(serverUrl);
  // Each SDK's own client and transport, with the OAuth client as its auth provider.
  const mcp =
    sdk === 'v1'
      ? new ClientV1({ name: 'oauth-test', version: '1.0.0' })
      : new ClientV2({ name: 'oauth-test', version: '2.0.0' });
  if (mcp instanceof ClientV1) await mcp.connect(new TransportV1(url, { authProvider: client }));
  else await mcp.connect(new TransportV2(url, { authProvider: client as never }));
  try {
    const tools = (await mcp.listTools()).tools.map((t) => t.name);
    const result = await mcp.callTool({ name: 'list-teams', arguments: {} });
    return { tools, result: result as { isError?: boolean; structuredContent?: unknown } };
  } finally {
    await mcp.close();
  }
}

/**
 * The whole flow an MCP client goes through on first use, with each SDK's own OAuth support:
 * discovery, registration, sign-in and consent (forms filled over HTTP), code exchange,
 * tools/list, refresh with rotation, tools/call with the refreshed token.
 */
async function fullFlow(sdk: Sdk, resourceServer: string, authorizationServer: OAuthTestApp) {
  const mcpUrl = `${resourceServer}/mcp`;
  const client = new MemoryOAuthClient('http://127.0.0.1:9/callback', `Test client ${sdk}`);

  expect(await runAuth(sdk, client, mcpUrl)).toBe('REDIRECT');
  expect(client.client?.client_id).toEqual(expect.any(String));
  const authorizationUrl = client.authorizationUrl!;
  expect(authorizationUrl.origin).toBe(authorizationServer.url);
  expect(authorizationUrl.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorizationUrl.searchParams.get('resource')).toBe(mcpUrl);

  const { redirect, consentPage } = await signInAndConsent(authorizationUrl, USER);
  expect(consentPage.html).toContain(`Test client ${sdk}`);
  expect(redirect.origin + redirect.pathname).toBe('http://127.0.0.1:9/callback');
  expect(redirect.searchParams.get('state')).toBe(authorizationUrl.searchParams.get('state'));
  const code = redirect.searchParams.get('code')!;
  expect(code).toBeTruthy();

  // RFC 9207: the built-in server's `iss` is BASE_URL, which the v2 SDK checks against the
  // discovery document. An external provider's `iss` is its own, hence the dropped
  // authorization_response_iss_parameter_supported (a client must not be told to check it).
  const iss = redirect.searchParams.get('iss') ?? undefined;
  const embedded = resourceServer === authorizationServer.url;
  expect(iss).toBe(authorizationServer.url);
  expect(await runAuth(sdk, client, mcpUrl, code, embedded ? iss : undefined)).toBe('AUTHORIZED');
  const first = client.stored!;
  expect(first.refresh_token).toEqual(expect.any(String));
  const claims = decodeJwt(first.access_token);
  expect(claims).toMatchObject({
    iss: authorizationServer.url,
    aud: mcpUrl,
    scope: expect.stringContaining('bulwark:read'),
    email: USER.email,
    email_verified: true,
  });

  const listed = await listAndCall(sdk, client, mcpUrl);
  expect(listed.tools).toEqual(expect.arrayContaining(['list-teams', 'create-rule']));
  expect(listed.result.isError).toBeFalsy();

  // Refresh: the SDK uses the refresh token it holds; the server rotates it.
  expect(await runAuth(sdk, client, mcpUrl)).toBe('AUTHORIZED');
  const second = client.stored!;
  expect(second.access_token).not.toBe(first.access_token);
  expect(second.refresh_token).toEqual(expect.any(String));
  expect(second.refresh_token).not.toBe(first.refresh_token);
  const again = await listAndCall(sdk, client, mcpUrl);
  expect(again.result.isError).toBeFalsy();
}

describe('OAuth end to end with the SDK clients: embedded mode (built-in authorization server)', () => {
  let server: OAuthTestApp;

  beforeAll(async () => {
    server = await startOAuthApp({}, { users: [USER] });
  });
  afterAll(() => server.close());

  it.each<Sdk>(['v1', 'v2'])(
    'SDK %s: discovery, registration, login, consent, token, tools, refresh',
    async (sdk) => {
      await fullFlow(sdk, server.url, server);
    },
  );
});

describe('OAuth end to end with the SDK clients: external provider mode (OAUTH_ISSUER)', () => {
  let provider: OAuthTestApp;
  let app: OAuthTestApp;

  beforeAll(async () => {
    // A second Bulwark plays the external provider: its built-in server mints tokens for the
    // first one's resource, which it learns from OAUTH_EXTRA_RESOURCES.
    const appPort = await freePort();
    const appUrl = `http://127.0.0.1:${appPort}`;
    provider = await startOAuthApp({ OAUTH_EXTRA_RESOURCES: `${appUrl}/mcp` }, { users: [USER] });
    app = await startOAuthApp({
      PORT: String(appPort),
      BASE_URL: appUrl,
      OAUTH_ISSUER: provider.url,
    });
  });
  afterAll(async () => {
    await app?.close();
    await provider?.close();
  });

  it('publishes the provider as upstream: its authorization endpoint, our token and registration endpoints', async () => {
    const meta = (await (
      await fetch(`${app.url}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, string>;
    expect(meta.issuer).toBe(app.url);
    expect(meta.authorization_endpoint).toBe(`${provider.url}/oauth/auth`);
    expect(meta.token_endpoint).toBe(`${app.url}/mcp/token`);
    expect(meta.registration_endpoint).toBe(`${app.url}/mcp/register`);
    // The application's own sign-in pages are not mounted: the provider does the sign-in.
    expect((await fetch(`${app.url}/oauth/.well-known/openid-configuration`)).status).toBe(404);
  });

  it.each<Sdk>(['v1', 'v2'])(
    'SDK %s: the same flow through the proxy, tokens verified against the provider',
    async (sdk) => {
      await fullFlow(sdk, app.url, provider);
    },
  );
});
