import { compileRules, CompiledRule, evaluate } from './engine';
import { enrichment, facts } from './fixtures';
import { CounterStore } from './rate-limit';
import type { EngineRule } from './types';

let seq = 0;
const rule = (
  overrides: Partial<EngineRule> & Pick<EngineRule, 'type' | 'config'>,
): EngineRule => ({
  id: `rule_${String(++seq).padStart(3, '0')}`,
  mode: 'LIVE',
  createdAt: new Date(Date.UTC(2026, 0, 1) + seq * 1000),
  ...overrides,
});
const denyGermany = { action: 'deny', match: { countries: ['DE'] } };
const noErrors = (r: CompiledRule, e: unknown) => {
  throw new Error(`unexpected failure of ${r.id}: ${String(e)}`);
};

describe('rule engine', () => {
  const counters = new CounterStore();

  it('sorts rules into decision order: filter, shield, bot, email, rate_limit, then oldest first', () => {
    const rules = [
      rule({
        type: 'rate_limit',
        config: { algorithm: 'fixed_window', max: 5, windowSeconds: 60 },
      }),
      rule({ type: 'email', config: { deny: ['invalid'] } }),
      rule({ type: 'bot', config: {} }),
      rule({ type: 'shield', config: {} }),
      rule({ type: 'filter', config: denyGermany }),
      rule({ type: 'filter', config: denyGermany, createdAt: new Date(0) }),
    ];
    // The second filter is older than the first, so it comes first.
    const order = [5, 4, 3, 2, 1, 0].map((i) => rules[i].id);
    expect(compileRules(rules, { counters }).map((r) => r.id)).toEqual(order);
  });

  it('never enforces DRY_RUN rules but records what they would have denied', async () => {
    const dry = rule({ type: 'filter', config: denyGermany, mode: 'DRY_RUN' });
    const outcome = await evaluate(
      compileRules([dry], { counters }),
      facts(),
      enrichment(),
      noErrors,
    );
    expect(outcome).toEqual({
      conclusion: 'ALLOW',
      reason: 'NO_RULE_DENIED',
      ruleId: null,
      results: [
        {
          ruleId: dry.id,
          type: 'filter',
          mode: 'DRY_RUN',
          conclusion: 'DENY',
          reason: 'FILTER_DENIED',
        },
      ],
      dryRunDenials: [dry.id],
      ttl: 0,
      verdicts: [{ conclusion: 'DENY', reason: 'FILTER_DENIED' }],
    });
  });

  it('lets the first denying LIVE rule decide and still evaluates every rule', async () => {
    const shield = rule({ type: 'shield', config: {} });
    const filter = rule({ type: 'filter', config: denyGermany });
    const bot = rule({ type: 'bot', config: { deny: ['http_client'] }, mode: 'DRY_RUN' });
    const outcome = await evaluate(
      compileRules([bot, shield, filter], { counters }),
      facts({ query: "q=1' UNION SELECT password FROM users--" }),
      enrichment({ botCategory: 'http_client', userAgent: 'curl/8.0' }),
      noErrors,
    );
    expect(outcome.conclusion).toBe('DENY');
    expect(outcome.ruleId).toBe(filter.id);
    expect(outcome.reason).toBe('FILTER_DENIED');
    expect(outcome.results.map((r) => [r.ruleId, r.conclusion])).toEqual([
      [filter.id, 'DENY'],
      [shield.id, 'DENY'],
      [bot.id, 'DENY'],
    ]);
    expect(outcome.dryRunDenials).toEqual([bot.id]);
  });

  it('fails open on a rule that throws, reporting RULE_ERROR', async () => {
    const broken: CompiledRule = {
      id: 'rule_broken',
      type: 'rate_limit',
      mode: 'LIVE',
      evaluator: { evaluate: () => Promise.reject(new Error('redis down')) },
    };
    const failures: string[] = [];
    const outcome = await evaluate([broken], facts(), enrichment(), (r) => failures.push(r.id));
    expect(outcome).toMatchObject({ conclusion: 'ALLOW', reason: 'NO_RULE_DENIED' });
    expect(outcome.results[0]).toMatchObject({ conclusion: 'ALLOW', reason: 'RULE_ERROR' });
    expect(failures).toEqual(['rule_broken']);
  });

  it('carries the rate limit’s retry time as the decision ttl', async () => {
    const limit = rule({
      type: 'rate_limit',
      config: { algorithm: 'fixed_window', max: 1, windowSeconds: 30 },
    });
    const compiled = compileRules([limit], { counters });
    await evaluate(compiled, facts({ ip: '192.0.2.77' }), enrichment(), noErrors);
    const outcome = await evaluate(compiled, facts({ ip: '192.0.2.77' }), enrichment(), noErrors);
    expect(outcome).toMatchObject({ conclusion: 'DENY', reason: 'RATE_LIMITED', ttl: 30 });
  });
});
