import { RateLimitConfig } from '../rules.schemas';
import { facts } from './fixtures';
import { CounterStore, RateLimitRule } from './rate-limit';

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

describe('RateLimitRule (process memory)', () => {
  let counters: CounterStore;
  beforeEach(() => {
    jest.useFakeTimers({ now: T0 });
    counters = new CounterStore();
  });
  afterEach(() => jest.useRealTimers());

  const rule = (config: unknown, id = 'rule_a') =>
    new RateLimitRule(id, RateLimitConfig.parse(config), counters, () => Date.now());
  const conclusions = async (r: RateLimitRule, n: number, f = facts()) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await r.evaluate(f)).conclusion);
    return out;
  };

  it('fixed_window: allows max per window, then denies until the window ends', async () => {
    const r = rule({ algorithm: 'fixed_window', max: 3, windowSeconds: 10 });
    expect(await conclusions(r, 4)).toEqual(['ALLOW', 'ALLOW', 'ALLOW', 'DENY']);
    expect(await r.evaluate(facts())).toEqual({
      conclusion: 'DENY',
      reason: 'RATE_LIMITED',
      retryAfterSeconds: 10,
      remaining: 0,
    });
    jest.advanceTimersByTime(10_001);
    expect(await conclusions(r, 1)).toEqual(['ALLOW']);
  });

  it('tells how many requests are left in the window (fixed and sliding windows)', async () => {
    const fixed = rule({ algorithm: 'fixed_window', max: 3, windowSeconds: 10 });
    const left = [];
    for (let i = 0; i < 3; i++) left.push((await fixed.evaluate(facts())).remaining);
    expect(left).toEqual([2, 1, 0]);
    const sliding = rule({ algorithm: 'sliding_window', max: 2, intervalSeconds: 10 }, 'rule_s');
    expect((await sliding.evaluate(facts())).remaining).toBe(1);
    expect((await sliding.evaluate(facts())).remaining).toBe(0);
    expect(await sliding.evaluate(facts())).toMatchObject({ conclusion: 'DENY', remaining: 0 });
  });

  it('counts by a key function when one is given (the Arcjet SDK’s characteristics)', async () => {
    const r = new RateLimitRule(
      'rule_k',
      RateLimitConfig.parse({ algorithm: 'fixed_window', max: 1, windowSeconds: 60 }),
      counters,
      () => Date.now(),
      (f) => f.headers['x-api-key'],
    );
    const withKey = (key: string) => facts({ headers: { 'x-api-key': key } });
    expect(await conclusions(r, 2, withKey('a'))).toEqual(['ALLOW', 'DENY']);
    expect(await conclusions(r, 1, withKey('b'))).toEqual(['ALLOW']);
    // No value to count by: nothing is counted.
    expect(await conclusions(r, 3, facts({ headers: {} }))).toEqual(['ALLOW', 'ALLOW', 'ALLOW']);
  });

  it('counts each IP, or each value of a characteristic, separately', async () => {
    const byIp = rule({ algorithm: 'fixed_window', max: 1, windowSeconds: 60 });
    expect(await conclusions(byIp, 2, facts({ ip: '198.51.100.1' }))).toEqual(['ALLOW', 'DENY']);
    expect(await conclusions(byIp, 1, facts({ ip: '198.51.100.2' }))).toEqual(['ALLOW']);
    const byUser = rule(
      { algorithm: 'fixed_window', max: 1, windowSeconds: 60, characteristic: 'userId' },
      'rule_b',
    );
    const alice = facts({ ip: '198.51.100.9', characteristics: { userId: 'alice' } });
    const aliceElsewhere = facts({ ip: '198.51.100.10', characteristics: { userId: 'alice' } });
    expect(await conclusions(byUser, 1, alice)).toEqual(['ALLOW']);
    expect(await conclusions(byUser, 1, aliceElsewhere)).toEqual(['DENY']);
    // Without the characteristic there is nothing to count.
    expect(await conclusions(byUser, 3, facts())).toEqual(['ALLOW', 'ALLOW', 'ALLOW']);
  });

  it('counts only the configured paths', async () => {
    const r = rule({ algorithm: 'fixed_window', max: 1, windowSeconds: 60, paths: ['/login'] });
    expect(await conclusions(r, 3, facts({ path: '/products' }))).toEqual([
      'ALLOW',
      'ALLOW',
      'ALLOW',
    ]);
    expect(await conclusions(r, 2, facts({ path: '/login' }))).toEqual(['ALLOW', 'DENY']);
  });

  it('sliding_window: weighs the previous window by how much of it is still inside the interval', async () => {
    const r = rule({ algorithm: 'sliding_window', max: 10, intervalSeconds: 60 });
    // Window [T0, T0+60s): 10 requests, all allowed.
    expect(await conclusions(r, 10)).toEqual(Array(10).fill('ALLOW'));
    // 45 s into the next window, a quarter of the previous window still counts: 2.5 + n <= 10.
    jest.setSystemTime(T0 + 105_000);
    expect(await conclusions(r, 8)).toEqual([...Array(7).fill('ALLOW'), 'DENY']);
    // A fixed window would have allowed 10 right at the boundary; sliding allows none there.
    const edge = rule({ algorithm: 'sliding_window', max: 10, intervalSeconds: 60 }, 'rule_edge');
    jest.setSystemTime(T0 + 179_000);
    await conclusions(edge, 10);
    jest.setSystemTime(T0 + 180_500);
    expect(await conclusions(edge, 1)).toEqual(['DENY']);
  });

  it('token_bucket: allows a burst up to capacity, then the refill rate', async () => {
    const r = rule({ algorithm: 'token_bucket', capacity: 5, refillRate: 2, intervalSeconds: 10 });
    expect(await conclusions(r, 6)).toEqual([...Array(5).fill('ALLOW'), 'DENY']);
    jest.advanceTimersByTime(10_001);
    // The burst allowance is spent until a full bucket would have refilled (25 s); the rate is back.
    expect(await conclusions(r, 3)).toEqual(['ALLOW', 'ALLOW', 'DENY']);
    jest.advanceTimersByTime(25_001);
    expect(await conclusions(r, 6)).toEqual([...Array(5).fill('ALLOW'), 'DENY']);
  });

  it('keeps counts when a rule is rebuilt with the same config and restarts them when it changes', async () => {
    const config = { algorithm: 'fixed_window', max: 2, windowSeconds: 60 };
    expect(await conclusions(rule(config), 2)).toEqual(['ALLOW', 'ALLOW']);
    expect(await conclusions(rule(config), 1)).toEqual(['DENY']);
    expect(await conclusions(rule({ ...config, max: 3 }), 1)).toEqual(['ALLOW']);
  });
});
