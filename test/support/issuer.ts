import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, JWK, SignJWT } from 'jose';

type Claims = Record<string, unknown>;
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

/**
 * A real OAuth issuer for tests: an ES256 key pair whose JWKS and RFC 8414 metadata are served
 * over HTTP on loopback, so the app verifies tokens exactly as it would against a provider.
 */
export class TestIssuer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly privateKey: PrivateKey,
  ) {}

  static async start(): Promise<TestIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
    let url = '';
    const server = createServer((req, res) => {
      const body =
        req.url === '/.well-known/oauth-authorization-server'
          ? {
              issuer: url,
              authorization_endpoint: `${url}/authorize`,
              token_endpoint: `${url}/token`,
              jwks_uri: `${url}/jwks`,
              response_types_supported: ['code'],
              code_challenge_methods_supported: ['S256'],
            }
          : req.url === '/jwks'
            ? { keys: [jwk] }
            : undefined;
      res.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { error: 'not_found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return new TestIssuer(server, url, privateKey);
  }

  /** A valid access token for `subject`, for the given audience, unless claims override. */
  async token(
    subject: string,
    audience: string,
    opts: { scope?: string; claims?: Claims; expiresIn?: string | number; issuer?: string } = {},
  ): Promise<string> {
    return new SignJWT({
      scope: opts.scope ?? 'bulwark:read bulwark:write',
      client_id: 'test-client',
      ...opts.claims,
    })
      .setProtectedHeader({ alg: 'ES256', kid: 'test-key', typ: 'at+jwt' })
      .setSubject(subject)
      .setIssuer(opts.issuer ?? this.url)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(opts.expiresIn ?? '5m')
      .sign(this.privateKey);
  }

  /** An unsigned token (`alg: none`) with otherwise valid claims. */
  unsigned(subject: string, audience: string): string {
    const enc = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: subject, iss: this.url, aud: audience, iat: now, exp: now + 300, scope: 'bulwark:read bulwark:write' })}.`;
  }

  /** A token signed with HS256 using the public key's coordinates as the secret. */
  async symmetric(subject: string, audience: string): Promise<string> {
    return new SignJWT({ scope: 'bulwark:read bulwark:write' })
      .setProtectedHeader({ alg: 'HS256', kid: 'test-key' })
      .setSubject(subject)
      .setIssuer(this.url)
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a-shared-secret-that-anyone-could-know'));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
