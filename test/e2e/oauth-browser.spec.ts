import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Browser, BrowserContext, chromium, Page, Response } from 'playwright-core';
import {
  exchangeCode,
  OAuthTestApp,
  startAuthorization,
  startOAuthApp,
  USER,
} from '../support/oauth';

jest.setTimeout(60_000);

/** Markup in the name: the pages must show it as text, never render it. */
const CLIENT_NAME = 'Acme <b>Bold</b> & "Co" Agent';
const SCOPE = 'bulwark:read bulwark:write';

/** The sign-in and consent pages in a real browser: labels, roles, headers, redirects. */
describe('OAuth sign-in and consent pages in headless Chromium', () => {
  let server: OAuthTestApp;
  let browser: Browser;
  let context: BrowserContext | undefined;
  /**
   * The client's loopback redirect URI, served for real: page.route cannot answer it, since
   * Playwright routes only the first request of a redirect chain and the browser gets here by a
   * 303 from the server. (The helpers' usual http://127.0.0.1:9 is also a port Chromium blocks.)
   */
  let callback: Server;
  let redirectUri: string;

  beforeAll(async () => {
    callback = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
    redirectUri = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
    server = await startOAuthApp({}, { users: [USER] });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await new Promise((resolve) => callback?.close(resolve));
  });

  /** A page in a fresh browser profile (no cookies). */
  async function openPage(): Promise<Page> {
    context = await browser.newContext();
    return context.newPage();
  }

  /** Registers a client and builds its authorization URL (PKCE S256, resource, state). */
  const authorize = (state: string) =>
    startAuthorization(server.url, {
      client: { client_name: CLIENT_NAME, redirect_uris: [redirectUri] },
      scope: SCOPE,
      state,
    });

  /** The GET that renders an interaction page (login or consent), after any redirects. */
  const interactionPage = (page: Page): Promise<Response> =>
    page.waitForResponse(
      (r) =>
        r.request().method() === 'GET' &&
        /\/oauth\/interaction\/[^/?]+$/.test(new URL(r.url()).pathname),
    );

  async function expectLoginForm(page: Page): Promise<void> {
    await expect(page.getByRole('heading', { name: 'Sign in to Bulwark' }).count()).resolves.toBe(
      1,
    );
    await expect(page.getByLabel('E-mail').getAttribute('type')).resolves.toBe('email');
    await expect(page.getByLabel('Password').getAttribute('type')).resolves.toBe('password');
    await expect(page.getByRole('button', { name: 'Sign in' }).count()).resolves.toBe(1);
  }

  /** The response to the form POST to `…/interaction/<uid>/<step>` (login or consent). */
  const formPost = (page: Page, step: 'login' | 'consent'): Promise<Response> =>
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/${step}`));

  /**
   * Expects a status; on any other, fails with the status and the page the server answered
   * instead (for a 403: its same-origin/CSRF check refused the form).
   */
  async function expectStatus(response: Response, expected: number): Promise<void> {
    const status = response.status();
    const body = status === expected ? '' : await response.text().catch(() => '');
    expect(status === expected ? status : `${status}: ${body}`).toBe(expected);
  }

  /**
   * Fills the labelled fields and clicks "Sign in". Returns the POST's response for a wrong
   * password (the sign-in page again), or the consent page it redirects to for the right one.
   */
  async function signIn(page: Page, password: string): Promise<Response> {
    await page.getByLabel('E-mail').fill(USER.email);
    await page.getByLabel('Password').fill(password);
    const posted = formPost(page, 'login');
    const next = password === USER.password ? interactionPage(page) : undefined;
    next?.catch(() => undefined); // not awaited when the POST already failed the test
    await page.getByRole('button', { name: 'Sign in' }).click();
    const post = await posted;
    if (!next) {
      await page.waitForLoadState('domcontentloaded');
      return post;
    }
    await expectStatus(post, 303);
    const consent = await next;
    await page.waitForLoadState('domcontentloaded');
    return consent;
  }

  async function expectConsentPage(page: Page, consent: Response): Promise<void> {
    expect(consent.status()).toBe(200);
    const headers = await consent.allHeaders();
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");

    const heading = page.getByRole('heading', { level: 1 });
    await expect(heading.textContent()).resolves.toBe(`Allow ${CLIENT_NAME} to use Bulwark?`);
    await expect(page.locator('#client-name').textContent()).resolves.toBe(CLIENT_NAME);
    // Escaped, not rendered: no <b> element came out of the client's name.
    await expect(page.locator('#client-name b').count()).resolves.toBe(0);
    await expect(page.locator('main b').count()).resolves.toBe(0);

    const scopes = await page.locator('#scopes li').allTextContents();
    expect(scopes).toHaveLength(2);
    expect(scopes[0]).toContain('bulwark:read');
    expect(scopes[1]).toContain('bulwark:write');
    await expect(page.getByRole('button', { name: 'Allow' }).count()).resolves.toBe(1);
    await expect(page.getByRole('button', { name: 'Deny' }).count()).resolves.toBe(1);
  }

  /** Clicks a consent button and waits for the browser to land on the redirect URI. */
  async function decide(page: Page, button: 'Allow' | 'Deny'): Promise<URL> {
    const posted = formPost(page, 'consent');
    const landed = page.waitForURL((u) => u.href.startsWith(redirectUri));
    landed.catch(() => undefined); // not awaited when the POST already failed the test
    await page.getByRole('button', { name: button }).click();
    await expectStatus(await posted, 303);
    await landed;
    await expect(page.locator('body').textContent()).resolves.toBe('ok');
    return new URL(page.url());
  }

  it('signs in, shows the consent page, and returns a code that exchanges for a token', async () => {
    const state = 'browser-state-allow';
    const { client, verifier, resource, url } = await authorize(state);
    const page = await openPage();

    const [login] = await Promise.all([interactionPage(page), page.goto(url)]);
    expect(login.status()).toBe(200);
    await expectLoginForm(page);
    // The client's name on the sign-in page is text too.
    await expect(page.locator('main p strong').first().textContent()).resolves.toBe(CLIENT_NAME);
    await expect(page.locator('main b').count()).resolves.toBe(0);

    const consent = await signIn(page, USER.password);
    await expectConsentPage(page, consent);
    await expect(page.getByText(`Signed in as ${USER.email}`).count()).resolves.toBe(1);

    const redirect = await decide(page, 'Allow');
    expect(redirect.origin + redirect.pathname).toBe(redirectUri);
    expect(redirect.searchParams.get('state')).toBe(state);
    expect(redirect.searchParams.get('iss')).toBe(server.url);
    const code = redirect.searchParams.get('code');
    expect(code).toBeTruthy();

    const { status, body } = await exchangeCode(server.url, {
      client,
      code: code!,
      verifier,
      resource,
    });
    expect(status).toBe(200);
    expect(body.access_token).toEqual(expect.any(String));
    expect(body.token_type).toMatch(/^bearer$/i);
  });

  it('shows an alert for a wrong password, then sends Deny back as access_denied', async () => {
    const state = 'browser-state-deny';
    const { url } = await authorize(state);
    const page = await openPage();
    await page.goto(url);
    await expectLoginForm(page);

    const failed = await signIn(page, 'not the password');
    await expectStatus(failed, 401);
    const alert = page.getByRole('alert');
    await expect(alert.count()).resolves.toBe(1);
    await expect(alert.textContent()).resolves.toBe('Wrong e-mail or password.');
    await expectLoginForm(page);
    // The e-mail is kept, the password is not.
    await expect(page.getByLabel('E-mail').inputValue()).resolves.toBe(USER.email);
    await expect(page.getByLabel('Password').inputValue()).resolves.toBe('');

    const consent = await signIn(page, USER.password);
    await expectConsentPage(page, consent);

    const redirect = await decide(page, 'Deny');
    expect(redirect.origin + redirect.pathname).toBe(redirectUri);
    expect(redirect.searchParams.get('error')).toBe('access_denied');
    expect(redirect.searchParams.get('state')).toBe(state);
    expect(redirect.searchParams.get('code')).toBeNull();
  });
});
