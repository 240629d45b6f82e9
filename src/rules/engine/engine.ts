import type { RuleResult } from '../../analytics/analytics.port';
import { RULE_CONFIG_SCHEMAS, RuleMode, RuleType } from '../rules.schemas';
import { BotRule } from './bot';
import { EmailRule } from './email';
import { FilterRule } from './filter';
import { CounterStore, RateLimitRule, RateLimitVerdict } from './rate-limit';
import { ShieldRule } from './shield';
import type {
  Conclusion,
  DecisionReason,
  EngineRule,
  Enrichment,
  RequestFacts,
  RuleEvaluator,
  RuleVerdict,
} from './types';

/**
 * When several LIVE rules deny, the first in this order gives the decision its reason: cheap,
 * certain verdicts about who is asking (filters) before content inspection (shield), then bots,
 * email, and rate limits last. Within a type, older rules first.
 */
const TYPE_ORDER: Readonly<Record<RuleType, number>> = {
  filter: 0,
  shield: 1,
  bot: 2,
  email: 3,
  rate_limit: 4,
};

export interface CompiledRule {
  id: string;
  type: RuleType;
  mode: RuleMode;
  evaluator: RuleEvaluator;
}

export interface EngineDeps {
  counters: CounterStore;
  now?: () => number;
}

/** Builds the evaluators of a site's rules, sorted in decision order. */
export function compileRules(rules: readonly EngineRule[], deps: EngineDeps): CompiledRule[] {
  return [...rules]
    .sort(
      (a, b) =>
        TYPE_ORDER[a.type] - TYPE_ORDER[b.type] ||
        a.createdAt.getTime() - b.createdAt.getTime() ||
        (a.id < b.id ? -1 : 1),
    )
    .map((rule) => ({
      id: rule.id,
      type: rule.type,
      mode: rule.mode,
      evaluator: buildEvaluator(rule, deps),
    }));
}

function buildEvaluator(rule: EngineRule, deps: EngineDeps): RuleEvaluator {
  // Stored configs were validated on write; parsing again applies defaults added since.
  switch (rule.type) {
    case 'shield':
      return new ShieldRule(RULE_CONFIG_SCHEMAS.shield.parse(rule.config));
    case 'rate_limit':
      return new RateLimitRule(
        rule.id,
        RULE_CONFIG_SCHEMAS.rate_limit.parse(rule.config),
        deps.counters,
        deps.now,
      );
    case 'bot':
      return new BotRule(RULE_CONFIG_SCHEMAS.bot.parse(rule.config));
    case 'filter':
      return new FilterRule(RULE_CONFIG_SCHEMAS.filter.parse(rule.config));
    case 'email':
      return new EmailRule(RULE_CONFIG_SCHEMAS.email.parse(rule.config));
  }
}

export interface Outcome {
  conclusion: Conclusion;
  reason: DecisionReason;
  /** The LIVE rule whose DENY decided; null when allowed. */
  ruleId: string | null;
  results: RuleResult[];
  /** DRY_RUN rules that would have denied. */
  dryRunDenials: string[];
  /** Seconds the app may reuse a DENY for this client (rate limits); 0 otherwise. */
  ttl: number;
  /** Each rule's own verdict, in the order of `rules` (rate-limit details included). */
  verdicts: readonly RateLimitVerdict[];
}

const FAILED: RuleVerdict = Object.freeze({ conclusion: 'ALLOW', reason: 'RULE_ERROR' });

/**
 * Evaluates every rule, LIVE and DRY_RUN, on one request. LIVE rules decide: the first DENY in
 * decision order wins. DRY_RUN rules are evaluated and recorded, never enforced. A rule that
 * fails (Redis down, say) fails open with reason RULE_ERROR: an outage of a counter store must
 * not take the protected site down with it.
 */
export async function evaluate(
  rules: readonly CompiledRule[],
  facts: RequestFacts,
  enrichment: Enrichment,
  onError: (rule: CompiledRule, error: unknown) => void,
): Promise<Outcome> {
  const verdicts: RateLimitVerdict[] = new Array<RateLimitVerdict>(rules.length);
  const pending: Promise<void>[] = [];
  rules.forEach((rule, i) => {
    const failed = (error: unknown) => {
      onError(rule, error);
      verdicts[i] = FAILED;
    };
    try {
      const verdict = rule.evaluator.evaluate(facts, enrichment);
      if (verdict instanceof Promise)
        pending.push(verdict.then((v) => void (verdicts[i] = v), failed));
      else verdicts[i] = verdict;
    } catch (error) {
      failed(error);
    }
  });
  // Only rate limits are asynchronous; a site without them decides without awaiting anything.
  if (pending.length > 0) await Promise.all(pending);

  let decider = -1;
  const results: RuleResult[] = [];
  const dryRunDenials: string[] = [];
  rules.forEach((rule, i) => {
    const verdict = verdicts[i];
    results.push({
      ruleId: rule.id,
      type: rule.type,
      mode: rule.mode,
      conclusion: verdict.conclusion,
      reason: verdict.reason,
    });
    if (verdict.conclusion !== 'DENY') return;
    if (rule.mode === 'DRY_RUN') dryRunDenials.push(rule.id);
    else if (decider < 0) decider = i;
  });
  if (decider < 0) {
    return {
      conclusion: 'ALLOW',
      reason: 'NO_RULE_DENIED',
      ruleId: null,
      results,
      dryRunDenials,
      ttl: 0,
      verdicts,
    };
  }
  const verdict = verdicts[decider];
  return {
    conclusion: 'DENY',
    reason: verdict.reason,
    ruleId: rules[decider].id,
    results,
    dryRunDenials,
    ttl: verdict.retryAfterSeconds ?? 0,
    verdicts,
  };
}
