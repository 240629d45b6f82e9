import {
  createHmac,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  timingSafeEqual,
} from 'node:crypto';
import type { JWK } from 'jose';
import { loadOrCreateSecret } from '../platform/secret-file';

/** Injection token of the built-in authorization server's secrets (undefined with OAUTH_ISSUER). */
export const OAUTH_SECRETS = Symbol('OAUTH_SECRETS');

/** The built-in authorization server's secrets: token signing keys and cookie-signing keys. */
export interface OAuthSecrets {
  /** Private JWKs: ES256 signs access tokens; RS256 exists for OIDC clients' ID tokens. */
  keys: JWK[];
  cookieKeys: string[];
}

function generate(): OAuthSecrets {
  const key = (alg: 'ES256' | 'RS256'): JWK => {
    const { privateKey } =
      alg === 'ES256'
        ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: randomUUID() };
  };
  return {
    keys: [key('ES256'), key('RS256')],
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
}

/**
 * Generated on first start and kept in `DATA_DIR/oauth-keys.json` (owner-only), so tokens and
 * logins survive restarts; in memory for `memory://`. Rotating: add a key in front of `keys` or
 * `cookieKeys` and restart; older entries keep verifying until removed.
 */
export function loadOAuthSecrets(dataDir: string): OAuthSecrets {
  if (dataDir === 'memory://') return generate();
  const text = loadOrCreateSecret(dataDir, 'oauth-keys.json', () =>
    JSON.stringify(generate(), null, 2),
  );
  const secrets = JSON.parse(text) as OAuthSecrets;
  if (!Array.isArray(secrets.keys) || !secrets.keys.length || !secrets.cookieKeys?.length) {
    throw new Error(`${dataDir}/oauth-keys.json must hold "keys" and "cookieKeys"`);
  }
  return secrets;
}

/** The public half of each key, as published at the JWKS endpoint. */
export function publicJwks(secrets: OAuthSecrets): { keys: JWK[] } {
  return {
    keys: secrets.keys.map(({ kty, crv, x, y, n, e, alg, use, kid }) =>
      Object.fromEntries(
        Object.entries({ kty, crv, x, y, n, e, alg, use, kid }).filter(([, v]) => v !== undefined),
      ),
    ),
  };
}

/**
 * CSRF token of one login or consent interaction: an HMAC of its id under the cookie key. Only
 * a page served by this origin can know it, and it is useless for any other interaction.
 */
export function csrfToken(secrets: OAuthSecrets, interactionId: string): string {
  return createHmac('sha256', secrets.cookieKeys[0])
    .update(`csrf:${interactionId}`)
    .digest('base64url');
}

export function validCsrfToken(
  secrets: OAuthSecrets,
  interactionId: string,
  token: unknown,
): boolean {
  if (typeof token !== 'string') return false;
  const expected = Buffer.from(csrfToken(secrets, interactionId));
  const actual = Buffer.from(token);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
