import { createHash } from 'node:crypto';
import {
  BurstyRateLimiter,
  RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { z } from 'zod';
import type { RateLimitConfig } from '../rules.schemas';
import type { RequestFacts, RuleEvaluator, RuleVerdict } from './types';
import { ALLOWED } from './types';

type Config = z.infer<typeof RateLimitConfig>;

export interface LimiterOptions {
  keyPrefix: string;
  points: number;
  /** Seconds. */
  duration: number;
}

/**
 * Where counters live: process memory (embedded, one instance) or Redis (shared by every
 * instance). Limiters are cached by key prefix, so recompiling a site's rules after an unrelated
 * change keeps the counts.
 */
export class CounterStore {
  private readonly limiters = new Map<string, RateLimiterAbstract>();

  /** `redis` is an ioredis client; omitted for process memory. */
  constructor(private readonly redis?: { quit(): Promise<unknown> }) {}

  async close(): Promise<void> {
    await this.redis?.quit().catch(() => undefined);
  }

  get shared(): boolean {
    return this.redis !== undefined;
  }

  limiter(options: LimiterOptions): RateLimiterAbstract {
    let limiter = this.limiters.get(options.keyPrefix);
    if (!limiter) {
      limiter = this.redis
        ? new RateLimiterRedis({ ...options, storeClient: this.redis })
        : new RateLimiterMemory(options);
      this.limiters.set(options.keyPrefix, limiter);
    }
    return limiter;
  }
}

export interface RateLimitVerdict extends RuleVerdict {
  /** Seconds until a denied caller may try again, for the decision's ttl. */
  retryAfterSeconds?: number;
  /** Requests the caller has left in the current window (bucket), when the rule counted it. */
  remaining?: number;
}

/** What a rule counts by: the value for one request, or undefined when it has none. */
export type RateLimitKey = (facts: RequestFacts) => string | undefined;

/**
 * Counts requests per key (the client IP or a characteristic the app sends) and denies past the
 * limit. Every attempt counts, denied ones included, so a client that keeps hammering stays
 * limited. Algorithms:
 * - fixed_window: `max` per window that starts with the key's first request.
 * - sliding_window: the weighted two-window estimate (previous window's count scaled by the part
 *   of it still inside the interval, plus the current count), which smooths the burst a fixed
 *   window allows at its edges.
 * - token_bucket: rate-limiter-flexible's BurstyRateLimiter: `refillRate` per interval plus a
 *   burst allowance of `capacity - refillRate` renewed every time a full bucket would refill.
 */
export class RateLimitRule implements RuleEvaluator {
  private readonly consume: (key: string) => Promise<RateLimitVerdict>;
  private readonly keyOf: RateLimitKey;

  /**
   * `keyOf` replaces the config's single characteristic, for callers that count by a
   * combination of request values (the Arcjet SDK's characteristics).
   */
  constructor(
    ruleId: string,
    private readonly config: Config,
    counters: CounterStore,
    private readonly now: () => number = Date.now,
    keyOf?: RateLimitKey,
  ) {
    const { characteristic } = config;
    this.keyOf =
      keyOf ??
      (characteristic === 'ip'
        ? (facts) => facts.ip
        : (facts) => facts.characteristics[characteristic]);
    // A config change starts new counters: old counts were against other limits.
    const version = createHash('sha256').update(JSON.stringify(config)).digest('hex').slice(0, 12);
    const prefix = `bulwark:rl:${ruleId}:${version}`;
    this.consume = this.build(prefix, counters);
  }

  async evaluate(facts: RequestFacts): Promise<RateLimitVerdict> {
    const { paths } = this.config;
    if (paths && !paths.some((p) => facts.path.startsWith(p))) return ALLOWED;
    const key = this.keyOf(facts);
    // Without the characteristic the app chose to count by, there is nothing to count.
    if (key === undefined || key === '') return ALLOWED;
    return this.consume(key);
  }

  private build(
    prefix: string,
    counters: CounterStore,
  ): (key: string) => Promise<RateLimitVerdict> {
    const c = this.config;
    switch (c.algorithm) {
      case 'fixed_window': {
        const limiter = counters.limiter({
          keyPrefix: prefix,
          points: c.max,
          duration: c.windowSeconds,
        });
        return (key) => settle(limiter.consume(key));
      }
      case 'token_bucket': {
        const base = counters.limiter({
          keyPrefix: prefix,
          points: c.refillRate,
          duration: c.intervalSeconds,
        });
        if (c.capacity <= c.refillRate) return (key) => settle(base.consume(key));
        const burst = counters.limiter({
          keyPrefix: `${prefix}:burst`,
          points: c.capacity - c.refillRate,
          duration: Math.ceil((c.intervalSeconds * c.capacity) / c.refillRate),
        });
        const bursty = new BurstyRateLimiter(base, burst);
        return (key) => settle(bursty.consume(key));
      }
      case 'sliding_window': {
        const intervalMs = c.intervalSeconds * 1000;
        // Counts per aligned window, kept for two windows so the previous one can be read.
        const windows = counters.limiter({
          keyPrefix: prefix,
          points: Number.MAX_SAFE_INTEGER,
          duration: c.intervalSeconds * 2,
        });
        return async (key) => {
          const now = this.now();
          const index = Math.floor(now / intervalMs);
          const [current, previous] = await Promise.all([
            windows.consume(`${key}:${index}`),
            windows.get(`${key}:${index - 1}`),
          ]);
          const elapsed = (now - index * intervalMs) / intervalMs;
          const estimate = (previous?.consumedPoints ?? 0) * (1 - elapsed) + current.consumedPoints;
          if (estimate <= c.max) {
            return { ...ALLOWED, remaining: Math.max(0, Math.floor(c.max - estimate)) };
          }
          return {
            conclusion: 'DENY',
            reason: 'RATE_LIMITED',
            retryAfterSeconds: Math.max(1, Math.ceil(((1 - elapsed) * intervalMs) / 1000)),
            remaining: 0,
          };
        };
      }
    }
  }
}

/** rate-limiter-flexible rejects with a RateLimiterRes when over the limit, or an Error. */
async function settle(result: Promise<RateLimiterRes>): Promise<RateLimitVerdict> {
  try {
    const res = await result;
    return { ...ALLOWED, remaining: res.remainingPoints };
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      return {
        conclusion: 'DENY',
        reason: 'RATE_LIMITED',
        retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)),
        remaining: 0,
      };
    }
    throw rejection;
  }
}
