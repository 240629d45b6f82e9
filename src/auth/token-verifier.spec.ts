import { Clock } from '../common/clock';
import { UnauthenticatedError } from '../common/errors';
import { loadConfig } from '../config/config';
import { TestIssuer } from '../../test/support/issuer';
import { OAuthUpstream } from '../oauth/upstream';
import { TokenVerifier } from './token-verifier';

class FakeClock extends Clock {
  constructor(public current: Date) {
    super();
  }
  now(): Date {
    return this.current;
  }
}

describe(TokenVerifier.name, () => {
  let issuer: TestIssuer;
  let clock: FakeClock;
  let verifier: TokenVerifier;
  const audience = 'http://bulwark.test/mcp';

  beforeAll(async () => {
    issuer = await TestIssuer.start();
  });
  afterAll(() => issuer.stop());
  beforeEach(() => {
    clock = new FakeClock(new Date());
    verifier = new TokenVerifier(
      loadConfig({
        BASE_URL: 'http://bulwark.test',
        OAUTH_ISSUER: issuer.url,
        OAUTH_JWKS_URL: `${issuer.url}/jwks`,
      }),
      clock,
      // With OAUTH_JWKS_URL set the verifier never asks the upstream for metadata.
      {} as OAuthUpstream,
    );
  });

  it('builds the actor from a valid token, with the interface it came through', async () => {
    const token = await issuer.token('alice', audience, { scope: 'bulwark:read' });
    await expect(verifier.verify(token, 'mcp')).resolves.toEqual({
      subject: 'alice',
      email: undefined,
      clientId: 'test-client',
      scopes: ['bulwark:read'],
      via: 'mcp',
    });
    // A second use answers from the cache, still with the interface of this call.
    await expect(verifier.verify(token, 'rest')).resolves.toMatchObject({ via: 'rest' });
  });

  it('stops accepting a cached token once it expires', async () => {
    const token = await issuer.token('alice', audience, { expiresIn: '2m' });
    await verifier.verify(token, 'mcp');
    clock.current = new Date(clock.current.getTime() + 3 * 60_000);
    await expect(verifier.verify(token, 'mcp')).rejects.toThrow(
      new UnauthenticatedError('The access token has expired; refresh it or sign in again.', true),
    );
  });

  it('never lets a cached token vouch for a tampered copy of it', async () => {
    const token = await issuer.token('alice', audience);
    await verifier.verify(token, 'mcp');
    const [header, payload, signature] = token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as object;
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'mallory' })).toString('base64url');
    await expect(verifier.verify(`${header}.${forged}.${signature}`, 'mcp')).rejects.toThrow(
      UnauthenticatedError,
    );
  });
});
