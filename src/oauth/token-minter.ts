import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import type { UserView } from '../users/users.schemas';
import type { OAuthSecrets } from './keys';

export interface MintOptions {
  issuer: string;
  audiences: string[];
  user: UserView;
  scopes: string[];
  ttlSeconds: number;
}

/**
 * An access token for scripts (`bulwark token`), signed with the built-in server's ES256 key and
 * shaped like the tokens it issues through the OAuth flow (RFC 9068), so the API verifies it by
 * the same rules. Its client_id says where it came from.
 */
export async function mintAccessToken(secrets: OAuthSecrets, opts: MintOptions): Promise<string> {
  const jwk = secrets.keys.find((k) => k.alg === 'ES256');
  if (!jwk) throw new Error('The OAuth key set has no ES256 key');
  const key = await importJWK(jwk, 'ES256');
  return new SignJWT({
    scope: opts.scopes.join(' '),
    client_id: 'bulwark-cli',
    email: opts.user.email,
    email_verified: true,
  })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'at+jwt' })
    .setIssuer(opts.issuer)
    .setSubject(opts.user.id)
    .setAudience(opts.audiences)
    .setIssuedAt()
    .setJti(randomUUID())
    .setExpirationTime(`${opts.ttlSeconds}s`)
    .sign(key);
}
