import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createRemoteJWKSet, errors, jwtVerify, JWTPayload, JWTVerifyGetKey } from 'jose';
import { Clock } from '../common/clock';
import { UnauthenticatedError, UnavailableError } from '../common/errors';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { OAuthUpstream } from '../oauth/upstream';
import { Actor } from './actor';

/**
 * Asymmetric algorithms only: a shared-secret (HS*) token could be forged by anyone holding the
 * verification key, and `none` is not a signature at all.
 */
export const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Verifies bearer access tokens against the configured issuer's published keys: signature with
 * an allow-listed algorithm, issuer, audience (this server's resource identifiers only, so a
 * token minted for another service is never accepted here), expiry and subject.
 */
@Injectable()
export class TokenVerifier {
  private keys?: Promise<JWTVerifyGetKey>;
  /**
   * Verified tokens, keyed by a SHA-256 of the token (the token itself is never kept), until
   * they expire. An agent sends the same token with every call, and an ES256 verification
   * costs far more than the rest of a small request. Bounded; the oldest entries go first.
   */
  private readonly verified = new Map<string, { actor: Omit<Actor, 'via'>; expiresAt: number }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clock: Clock,
    private readonly upstream: OAuthUpstream,
  ) {}

  async verify(token: string, via: Actor['via']): Promise<Actor> {
    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.verified.get(key);
    if (hit) {
      if (hit.expiresAt > this.clock.now().getTime()) return { ...hit.actor, via };
      this.verified.delete(key);
    }
    const keys = await this.jwks();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.config.oauth.issuer,
        audience: this.config.oauth.audiences,
        algorithms: ALLOWED_ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        currentDate: this.clock.now(),
        clockTolerance: 5,
      }));
    } catch (error) {
      throw new UnauthenticatedError(describeFailure(error), true);
    }
    const actor = toActor(payload, via);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) {
      this.verified.delete(this.verified.keys().next().value!);
    }
    const { via: _, ...claims } = actor;
    this.verified.set(key, { actor: claims, expiresAt: payload.exp! * 1000 });
    return actor;
  }

  /** The issuer's JWKS, located once (OAUTH_JWKS_URL or the upstream's metadata) and cached. */
  private jwks(): Promise<JWTVerifyGetKey> {
    this.keys ??= Promise.resolve()
      .then(() => this.locateJwks())
      .then(
        (url) =>
          createRemoteJWKSet(new URL(url), { timeoutDuration: 5_000, cooldownDuration: 30_000 }),
        (error: unknown) => {
          this.keys = undefined;
          throw error;
        },
      );
    return this.keys;
  }

  private locateJwks(): string {
    if (this.config.oauth.jwksUrl) return this.config.oauth.jwksUrl;
    const metadata = this.upstream.current();
    if (!metadata) throw new UnavailableError(this.upstream.unavailableReason());
    return this.upstream.reachable(metadata.jwks_uri);
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof errors.JWTExpired)
    return 'The access token has expired; refresh it or sign in again.';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') {
      return 'The access token was issued for another audience; request a token for this server (resource indicator).';
    }
    if (error.claim === 'iss')
      return 'The access token was issued by an issuer this server does not trust.';
    return `The access token's ${error.claim} claim is missing or invalid.`;
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return 'The access token is signed with an algorithm this server does not accept.';
  }
  return 'The access token could not be verified; sign in again.';
}

function toActor(payload: JWTPayload, via: Actor['via']): Actor {
  const scopeClaim = payload.scope ?? payload.scp;
  const scopes = Array.isArray(scopeClaim)
    ? scopeClaim.filter((s): s is string => typeof s === 'string')
    : typeof scopeClaim === 'string'
      ? scopeClaim.split(' ').filter(Boolean)
      : [];
  const clientId = payload.client_id ?? payload.azp;
  // An unverified e-mail must never match an invitation: anyone could claim it.
  const email =
    typeof payload.email === 'string' && payload.email_verified === true
      ? payload.email.toLowerCase()
      : undefined;
  return {
    subject: payload.sub!,
    email,
    clientId: typeof clientId === 'string' ? clientId : undefined,
    scopes,
    via,
  };
}
