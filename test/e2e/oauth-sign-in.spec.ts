import { randomBytes, randomInt } from 'node:crypto';
import { CounterStore } from '../../src/rules/engine/rate-limit';
import {
  FormBrowser,
  OAuthTestApp,
  openAuthorization,
  Page,
  registerClient,
  startOAuthApp,
} from '../support/oauth';

jest.setTimeout(90_000);

const ANA = { email: 'ana@example.com', password: 'correct horse battery staple' };
const BO = { email: 'bo@example.com', password: 'another long passphrase' };

/**
 * The sign-in and consent pages as a hostile world uses them: forged and cross-site posts,
 * password guessing per account and per address, stale interactions.
 */
describe('sign-in and consent pages', () => {
  let server: OAuthTestApp;
  let clientId: string;

  beforeAll(async () => {
    server = await startOAuthApp({ TRUST_PROXY: 'loopback' }, { users: [ANA, BO] });
    clientId = (await registerClient(server.url, { client_name: 'Sign-in tests' })).client_id;
  });
  afterAll(() => server.close());

  /** A fresh browser on the sign-in page of a new authorization request. */
  async function loginPage(): Promise<{ browser: FormBrowser; page: Page }> {
    const { browser, page } = await openAuthorization(server.url, clientId);
    expect(page.status).toBe(200);
    expect(page.html).toContain('<label for="email">E-mail</label>');
    expect(page.html).toContain('<label for="password">Password</label>');
    return { browser, page };
  }

  it('refuses a post without the page CSRF token, or from another origin', async () => {
    const { browser, page } = await loginPage();
    const forged = await browser.submit(page, { ...ANA, csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect(forged.html).toContain('The form expired or was not sent from this page');
    const crossSite = await browser.submit(page, ANA, undefined, {
      origin: 'https://evil.example',
    });
    expect(crossSite.status).toBe(403);
    // The genuine form still works afterwards.
    const consent = await browser.submit(page, ANA);
    expect(consent.html).toContain('It asks for');
  });

  it('shows an expired-session page, not a stack trace, for an interaction without its cookie', async () => {
    const { page } = await loginPage();
    const stranger = await new FormBrowser(server.url).get(page.url);
    expect(stranger.status).toBe(400);
    expect(stranger.html).toContain('session_expired');
    expect(stranger.headers.get('x-frame-options')).toBe('DENY');
  });

  it('says only "wrong e-mail or password", for a wrong password and an unknown account alike', async () => {
    for (const credentials of [
      { email: BO.email, password: 'not the password' },
      { email: 'nobody@example.com', password: 'whatever it is' },
    ]) {
      const { browser, page } = await loginPage();
      const answer = await browser.submit(page, credentials, undefined, {
        'x-forwarded-for': '192.0.2.50',
      });
      expect(answer.status).toBe(401);
      expect(answer.html).toContain('Wrong e-mail or password.');
      expect(answer.html).toContain(`value="${credentials.email}"`);
    }
  });

  it('locks an account after 10 failed attempts from anywhere, even for the right password, and no other account', async () => {
    const victim = { email: 'victim@example.com', password: 'the real passphrase' };
    await server.users.create(victim);
    for (let i = 0; i < 10; i++) {
      const { browser, page } = await loginPage();
      const answer = await browser.submit(
        page,
        { email: victim.email, password: `guess ${i}` },
        undefined,
        // Spread over many addresses, as a botnet would.
        { 'x-forwarded-for': `198.51.100.${i}` },
      );
      expect(answer.status).toBe(401);
    }
    const { browser, page } = await loginPage();
    const locked = await browser.submit(page, victim, undefined, {
      'x-forwarded-for': '198.51.100.99',
    });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(locked.html).toContain('Too many sign-in attempts');
    const other = await loginPage();
    const fine = await other.browser.submit(other.page, ANA, undefined, {
      'x-forwarded-for': '198.51.100.99',
    });
    expect(fine.html).toContain('It asks for');
  });

  it('limits sign-in posts from one address to 30 per 15 minutes', async () => {
    const from = { 'x-forwarded-for': '203.0.113.7' };
    const { browser, page } = await loginPage();
    for (let i = 0; i < 30; i++) {
      const answer = await browser.submit(
        page,
        { email: `user${i}@example.com`, password: 'wrong password here' },
        undefined,
        from,
      );
      expect(answer.status).toBe(401);
    }
    const limited = await browser.submit(page, ANA, undefined, from);
    expect(limited.status).toBe(429);
    // Another address is unaffected.
    const elsewhere = await browser.submit(page, ANA, undefined, {
      'x-forwarded-for': '203.0.113.8',
    });
    expect(elsewhere.html).toContain('It asks for');
  });

  it('returns access_denied to the client when the user denies consent', async () => {
    const { browser, page } = await loginPage();
    const consent = await browser.submit(page, ANA);
    expect(consent.html).toContain('<code>bulwark:read</code>');
    expect(consent.html).not.toContain('<code>bulwark:write</code>');
    await browser.submit(consent, { decision: 'deny' });
    expect(browser.leftTo?.searchParams.get('error')).toBe('access_denied');
  });
});

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Guesses sent all at once: every attempt counts before its password is checked, so however many
 * arrive together, at most 10 passwords are checked; on both counter stores (Redis counts for
 * every instance, and its counting must be just as atomic).
 */
describe.each([
  ['in memory', {}],
  ['in Redis', { REDIS_URL }],
] as const)('parallel password guessing, counters %s', (_store, env) => {
  let server: OAuthTestApp;

  beforeAll(async () => {
    server = await startOAuthApp({ TRUST_PROXY: 'loopback', ...env });
    // Redis commands fail (and the limits fail open) until the connection is up.
    const counters = server.app.get(CounterStore);
    const probe = counters.limiter({ keyPrefix: 'test:probe', points: 1, duration: 1 });
    for (let i = 0; ; i++) {
      try {
        await probe.get('probe');
        break;
      } catch (error) {
        if (i === 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  });
  afterAll(() => server?.close());

  it('checks at most 10 passwords of 25 simultaneous wrong ones, answering the rest 429', async () => {
    // Fresh names and addresses, so counts left in a shared Redis by other runs do not interfere.
    const victim = {
      email: `victim-${randomBytes(4).toString('hex')}@example.com`,
      password: 'the real passphrase',
    };
    await server.users.create(victim);
    const clientId = (await registerClient(server.url)).client_id;
    const { browser, page } = await openAuthorization(server.url, clientId);
    const net = `198.18.${randomInt(256)}`;
    const checks = jest.spyOn(server.users, 'authenticate');
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        browser.submit(page, { email: victim.email, password: `guess ${i}` }, undefined, {
          'x-forwarded-for': `${net}.${i}`,
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
    expect(checks).toHaveBeenCalledTimes(10);
    // Locked: even the right password waits, and is not checked.
    const locked = await browser.submit(page, victim, undefined, {
      'x-forwarded-for': `${net}.99`,
    });
    expect(locked.status).toBe(429);
    expect(locked.html).toContain('Too many sign-in attempts');
    expect(checks).toHaveBeenCalledTimes(10);
    checks.mockRestore();
  });
});
