import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { compileRules, evaluate } from '../../src/rules/engine/engine';
import { enrichment, facts } from '../../src/rules/engine/fixtures';
import { CounterStore, RateLimitRule } from '../../src/rules/engine/rate-limit';
import { RateLimitConfig } from '../../src/rules/rules.schemas';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * With REDIS_URL, every instance counts in the same Redis: two counter stores with their own
 * connections stand for two app instances behind a load balancer.
 */
describe('rate limits shared through Redis', () => {
  const clients: Redis[] = [];
  const instance = () => {
    const client = new Redis(REDIS_URL, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
    clients.push(client);
    return new CounterStore(client);
  };
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
  });

  const conclusions = async (rule: RateLimitRule, n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await rule.evaluate(facts())).conclusion);
    return out;
  };
  // A fresh rule id per test run, so counts left in Redis by earlier runs do not interfere.
  const ruleId = () => `rule_test_${randomBytes(6).toString('hex')}`;

  it.each([
    [{ algorithm: 'fixed_window', max: 3, windowSeconds: 60 }],
    [{ algorithm: 'sliding_window', max: 3, intervalSeconds: 60 }],
    [{ algorithm: 'token_bucket', capacity: 3, refillRate: 1, intervalSeconds: 60 }],
  ])('%j: two instances count together', async (config) => {
    const id = ruleId();
    const parsed = RateLimitConfig.parse(config);
    const a = new RateLimitRule(id, parsed, instance());
    const b = new RateLimitRule(id, parsed, instance());
    expect(await conclusions(a, 2)).toEqual(['ALLOW', 'ALLOW']);
    expect(await conclusions(b, 2)).toEqual(['ALLOW', 'DENY']);
    expect(await conclusions(a, 1)).toEqual(['DENY']);
  });

  it('fails open, reporting RULE_ERROR, when Redis cannot be reached', async () => {
    const unreachable = new Redis('redis://127.0.0.1:1', {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
    });
    unreachable.on('error', () => undefined);
    const counters = new CounterStore(unreachable);
    const rules = compileRules(
      [
        {
          id: ruleId(),
          type: 'rate_limit',
          mode: 'LIVE',
          config: { algorithm: 'fixed_window', max: 1, windowSeconds: 60 },
          createdAt: new Date(),
        },
      ],
      { counters },
    );
    const failures: unknown[] = [];
    const outcome = await evaluate(rules, facts(), enrichment(), (_, e) => failures.push(e));
    expect(outcome.conclusion).toBe('ALLOW');
    expect(outcome.results[0]).toMatchObject({ reason: 'RULE_ERROR' });
    expect(failures).toHaveLength(1);
    unreachable.disconnect();
  });
});
