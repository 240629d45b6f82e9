import { Injectable, Logger } from '@nestjs/common';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { CounterStore } from '../rules/engine/rate-limit';

/** Named limits of the sign-in pages and OAuth proxy endpoints (README: Security notes). */
export const OAUTH_LIMITS = {
  /** Sign-in form posts from one address. */
  loginPerIp: { keyPrefix: 'oauth:login:ip', points: 30, duration: 15 * 60 },
  /**
   * Sign-in attempts on one account, from anywhere, counted before the password is checked and
   * cleared by a successful sign-in: in effect, failed sign-ins.
   */
  loginFailuresPerAccount: { keyPrefix: 'oauth:login:account', points: 10, duration: 15 * 60 },
  /** Client registrations from one address. */
  registerPerIp: { keyPrefix: 'oauth:register:ip', points: 30, duration: 60 * 60 },
  /** Token requests (code exchange, refresh) from one address. */
  tokenPerIp: { keyPrefix: 'oauth:token:ip', points: 120, duration: 60 },
} as const;
export type OAuthLimit = keyof typeof OAUTH_LIMITS;

/**
 * Brute-force and abuse limits, on the same counter store as rate-limit rules (Redis when
 * REDIS_URL is set, so every instance counts together). If the store fails the request goes
 * through: locking every user out because Redis blinked would be worse.
 */
@Injectable()
export class OAuthAbuseLimits {
  private readonly logger = new Logger('OAuthLimits');

  constructor(private readonly counters: CounterStore) {}

  /**
   * Counts one attempt; resolves to the seconds to wait when over the limit, else 0. Counting and
   * deciding are one atomic step in the store (in memory, or in Redis for every instance), so of
   * parallel attempts at most the limit's points get 0: count before doing the work the limit
   * protects, never check first and count afterwards.
   */
  async consume(limit: OAuthLimit, key: string): Promise<number> {
    try {
      await this.counters.limiter(OAUTH_LIMITS[limit]).consume(key);
      return 0;
    } catch (outcome) {
      if (outcome instanceof RateLimiterRes)
        return Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
      this.logger.warn(`Rate-limit store unavailable for ${limit}: ${String(outcome)}`);
      return 0;
    }
  }

  async reset(limit: OAuthLimit, key: string): Promise<void> {
    await this.counters
      .limiter(OAUTH_LIMITS[limit])
      .delete(key)
      .catch(() => undefined);
  }
}
