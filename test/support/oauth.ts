import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { INestApplication } from '@nestjs/common';
import { loadConfig } from '../../src/config/config';
import { AppOptions } from '../../src/config/config.module';
import { createApp } from '../../src/main';
import { OAuthUpstream } from '../../src/oauth/upstream';
import { UsersService } from '../../src/users/users.service';

/** A port free right now, so that BASE_URL can name the address the app will listen on. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** An account that signs in on the built-in server's pages. */
export type Credentials = { email: string; password: string };

/** The account most OAuth tests sign in as. */
export const USER: Credentials = {
  email: 'ops@example.com',
  password: 'correct horse battery staple',
};

/** The redirect URI registerClient and MemoryOAuthClient register unless told otherwise. */
export const CALLBACK = 'http://127.0.0.1:9/callback';

export interface OAuthTestApp {
  app: INestApplication;
  /** Where it listens; also BASE_URL unless `env` names another (OAuth clients need them equal). */
  url: string;
  baseUrl: string;
  env: Record<string, string>;
  users: UsersService;
  close(): Promise<void>;
}

export interface OAuthAppOptions extends AppOptions {
  /** Accounts to create once the app is up (they sign in on its pages). */
  users?: Credentials[];
}

/**
 * The whole application with its built-in authorization server (no OAUTH_ISSUER), on embedded
 * PGlite in memory unless `env` says otherwise, listening on the origin BASE_URL names.
 */
export async function startOAuthApp(
  env: Record<string, string> = {},
  options: OAuthAppOptions = {},
  /** Wait for the authorization server's metadata before returning (false: start-up tests). */
  awaitUpstream = true,
): Promise<OAuthTestApp> {
  const port = await freePort();
  const appEnv: Record<string, string> = {
    PORT: String(port),
    BASE_URL: `http://127.0.0.1:${port}`,
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'silent',
    ...env,
  };
  const { users = [], ...appOptions } = options;
  const app = await createApp(loadConfig(appEnv), appOptions);
  await app.listen(Number(appEnv.PORT), '127.0.0.1');
  if (awaitUpstream) await app.get(OAuthUpstream).ready();
  const accounts = app.get(UsersService);
  try {
    for (const user of users) await accounts.create(user);
  } catch (error) {
    await app.close();
    throw error;
  }
  return {
    app,
    url: `http://127.0.0.1:${appEnv.PORT}`,
    baseUrl: appEnv.BASE_URL,
    env: appEnv,
    users: accounts,
    close: () => app.close(),
  };
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

export interface Page {
  status: number;
  url: string;
  html: string;
  headers: Headers;
}

/**
 * A browser without a screen: keeps cookies (by path), follows redirects within the server's
 * origin, and stops at the first redirect elsewhere (the client's redirect URI). Enough to drive
 * the sign-in pages over HTTP exactly as their forms are written.
 */
export class FormBrowser {
  private readonly cookies = new Map<string, Cookie>();
  /** The redirect that left the server's origin, if the flow got there. */
  leftTo?: URL;

  constructor(private readonly origin: string) {}

  async get(url: string): Promise<Page> {
    return this.request(url, { method: 'GET' });
  }

  /** Submits the page's form (the first one, or the one whose action contains `action`). */
  async submit(
    page: Page,
    fields: Record<string, string>,
    action?: string,
    headers: Record<string, string> = {},
  ): Promise<Page> {
    const forms = [
      ...page.html.matchAll(/<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/g),
    ];
    const form = forms.find((f) => !action || f[1].includes(action));
    if (!form)
      throw new Error(`no form${action ? ` for ${action}` : ''} on ${page.url}:\n${page.html}`);
    const body = new URLSearchParams();
    for (const [, name, value] of form[2].matchAll(
      /<input type="hidden" name="([^"]+)" value="([^"]*)">/g,
    )) {
      body.set(name, decodeHtml(value));
    }
    for (const [name, value] of Object.entries(fields)) body.set(name, value);
    return this.request(new URL(decodeHtml(form[1]), page.url).href, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        // As browsers do: a page served with `Referrer-Policy: no-referrer` posts `Origin: null`.
        origin: page.headers.get('referrer-policy') === 'no-referrer' ? 'null' : this.origin,
        ...headers,
      },
      body: body.toString(),
    });
  }

  private async request(url: string, init: RequestInit): Promise<Page> {
    let current = url;
    let options = init;
    for (let hop = 0; hop < 20; hop++) {
      const target = new URL(current);
      const res = await fetch(current, {
        ...options,
        redirect: 'manual',
        headers: {
          ...(options.headers as Record<string, string>),
          cookie: this.cookieHeader(target),
        },
      });
      for (const line of res.headers.getSetCookie()) this.store(line);
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        const next = new URL(location, current);
        await res.arrayBuffer();
        if (next.origin !== this.origin) {
          this.leftTo = next;
          return { status: res.status, url: next.href, html: '', headers: res.headers };
        }
        current = next.href;
        options = { method: 'GET' };
        continue;
      }
      return { status: res.status, url: current, html: await res.text(), headers: res.headers };
    }
    throw new Error(`too many redirects from ${url}`);
  }

  private store(line: string): void {
    const [pair, ...attributes] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
    const expired = attributes.some(
      (a) => /^expires=/i.test(a) && new Date(a.slice(8)).getTime() < Date.now(),
    );
    const key = `${name};${path}`;
    if (expired || value === '') this.cookies.delete(key);
    else this.cookies.set(key, { name, value, path });
  }

  private cookieHeader(url: URL): string {
    return [...this.cookies.values()]
      .filter(
        (c) =>
          url.pathname === c.path ||
          url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) ||
          c.path === '/',
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

function decodeHtml(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/**
 * Signs in and approves the consent page for an authorization URL, as a user would; returns
 * where the server finally sent the browser (the client's redirect URI with code or error).
 */
export async function signInAndConsent(
  authorizationUrl: string | URL,
  credentials: Credentials,
  decision: 'approve' | 'deny' = 'approve',
): Promise<{ redirect: URL; loginPage: Page; consentPage: Page }> {
  const url = new URL(authorizationUrl);
  const browser = new FormBrowser(url.origin);
  const loginPage = await browser.get(url.href);
  if (!loginPage.html.includes('Sign in to Bulwark')) {
    throw new Error(
      `expected the sign-in page, got ${loginPage.status} at ${loginPage.url}:\n${loginPage.html}`,
    );
  }
  const consentPage = await browser.submit(loginPage, credentials);
  if (!consentPage.html.includes('It asks for')) {
    throw new Error(`expected the consent page, got ${consentPage.status}:\n${consentPage.html}`);
  }
  await browser.submit(consentPage, { decision });
  if (!browser.leftTo) throw new Error('the flow never redirected back to the client');
  return { redirect: browser.leftTo, loginPage, consentPage };
}

/**
 * What an MCP client keeps between runs (registration, tokens, PKCE verifier), in memory; the
 * `OAuthClientProvider` of both SDKs. `redirectToAuthorization` records the URL for the test to
 * open, as a desktop client would open a browser.
 */
export class MemoryOAuthClient {
  client?: Record<string, unknown>;
  stored?: { access_token: string; refresh_token?: string; [k: string]: unknown };
  verifier = '';
  authorizationUrl?: URL;

  constructor(
    readonly redirectUrl = CALLBACK,
    readonly name = 'Bulwark test client',
    private readonly scope?: string,
  ) {}

  get clientMetadata() {
    return {
      client_name: this.name,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...(this.scope ? { scope: this.scope } : {}),
    };
  }

  clientInformation() {
    return this.client as never;
  }
  saveClientInformation(info: Record<string, unknown>) {
    this.client = info;
  }
  tokens() {
    return this.stored as never;
  }
  saveTokens(tokens: { access_token: string; refresh_token?: string }) {
    this.stored = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  discovery?: unknown;
  saveDiscoveryState(state: unknown) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery as never;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
}

export interface TokenSet {
  access_token: string;
  refresh_token?: string;
  scope?: string;
  expires_in?: number;
  token_type?: string;
}

/** A client registered at `/mcp/register`, as an MCP client does on first connect. */
export async function registerClient(
  baseUrl: string,
  metadata: Record<string, unknown> = {},
): Promise<{ client_id: string; redirect_uris: string[] }> {
  const res = await fetch(`${baseUrl}/mcp/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'Rejection tests',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      ...metadata,
    }),
  });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { client_id: string; redirect_uris: string[] };
}

/** PKCE pair (RFC 7636, S256). */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** The authorization URL a client would open, from the server's discovery document. */
export function authorizationUrl(
  baseUrl: string,
  params: Record<string, string | undefined>,
): string {
  const url = new URL(`${baseUrl}/oauth/auth`);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.href;
}

/** POSTs a form to `/mcp/token`; returns status and JSON body. */
export async function tokenRequest(
  baseUrl: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}/mcp/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** POSTs a refresh_token grant to `/mcp/token`, as `clientId` sends it. */
export function refreshTokens(
  baseUrl: string,
  refreshToken: string,
  clientId: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return tokenRequest(baseUrl, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: clientId,
  });
}

/**
 * Opens an authorization request by `clientId` in a fresh FormBrowser: the code flow with PKCE
 * S256 for the read scope, to CALLBACK, unless `params` say otherwise (`undefined` leaves a
 * parameter out). Returns the browser and where it stopped: the sign-in page, or the redirect
 * URI (`browser.leftTo`) when the request was refused.
 */
export async function openAuthorization(
  baseUrl: string,
  clientId: string,
  params: Record<string, string | undefined> = {},
): Promise<{ browser: FormBrowser; page: Page }> {
  const browser = new FormBrowser(baseUrl);
  const page = await browser.get(
    authorizationUrl(baseUrl, {
      client_id: clientId,
      response_type: 'code',
      redirect_uri: CALLBACK,
      scope: 'bulwark:read',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
      ...params,
    }),
  );
  return { browser, page };
}

export interface AuthorizationOptions {
  /** Registration metadata over registerClient's defaults. */
  client?: Record<string, unknown>;
  /** Default: `bulwark:read bulwark:write`. */
  scope?: string;
  /** Default: the app's `/mcp`. */
  resource?: string;
  /** Default: none. */
  state?: string;
}

export interface Authorization {
  client: { client_id: string; redirect_uris: string[] };
  verifier: string;
  resource: string;
  /** The authorization URL to open (PKCE S256, to the client's first redirect URI). */
  url: string;
}

/** What a client does before sending the user to sign in: registers, makes PKCE, builds the URL. */
export async function startAuthorization(
  baseUrl: string,
  opts: AuthorizationOptions = {},
): Promise<Authorization> {
  const client = await registerClient(baseUrl, opts.client);
  const { verifier, challenge } = pkce();
  const resource = opts.resource ?? `${baseUrl}/mcp`;
  const url = authorizationUrl(baseUrl, {
    client_id: client.client_id,
    response_type: 'code',
    redirect_uri: client.redirect_uris[0],
    scope: opts.scope ?? 'bulwark:read bulwark:write',
    resource,
    state: opts.state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  return { client, verifier, resource, url };
}

/**
 * startAuthorization, then signed in and approved by `credentials`: the code the client got back
 * on its redirect URI, not yet exchanged.
 */
export async function authorizeCode(
  baseUrl: string,
  credentials: Credentials,
  opts: AuthorizationOptions = {},
): Promise<Authorization & { code: string }> {
  const authorization = await startAuthorization(baseUrl, opts);
  const { redirect } = await signInAndConsent(authorization.url, credentials);
  const code = redirect.searchParams.get('code');
  if (!code) throw new Error(`no code: ${redirect.href}`);
  return { ...authorization, code };
}

/** The authorization_code grant for `code`, as `client` sends it (`resource` only if given). */
export function exchangeCode(
  baseUrl: string,
  {
    client,
    code,
    verifier,
    resource,
  }: Pick<Authorization, 'client' | 'verifier'> & { code: string; resource?: string },
): Promise<{ status: number; body: Record<string, unknown> }> {
  return tokenRequest(baseUrl, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirect_uris[0],
    code_verifier: verifier,
    client_id: client.client_id,
    ...(resource === undefined ? {} : { resource }),
  });
}

/**
 * The authorization code flow by hand (register, authorize with PKCE, sign in, consent,
 * exchange), for tests that need a real token set.
 */
export async function obtainTokens(
  baseUrl: string,
  credentials: Credentials,
  opts: { scope?: string; resource?: string } = {},
): Promise<TokenSet & { client_id: string }> {
  const authorized = await authorizeCode(baseUrl, credentials, { state: 'state-1', ...opts });
  const { status, body } = await exchangeCode(baseUrl, authorized);
  if (status !== 200) throw new Error(`token exchange failed: ${status} ${JSON.stringify(body)}`);
  return { ...(body as unknown as TokenSet), client_id: authorized.client.client_id };
}
