import type { z } from 'zod';
import type { BotConfig } from '../rules.schemas';
import type { BotCategory, Enrichment, RuleEvaluator, RuleVerdict } from './types';
import { ALLOWED } from './types';

type Config = z.infer<typeof BotConfig>;

/**
 * Denies requests whose user agent falls in a denied bot category (see classifyUserAgent), unless
 * the category is also allowed. An empty user agent is suspicious: real browsers always send one.
 */
export class BotRule implements RuleEvaluator {
  private readonly deny: ReadonlySet<BotCategory>;

  constructor(private readonly config: Config) {
    const allow = new Set(config.allow);
    this.deny = new Set(config.deny.filter((c) => !allow.has(c)));
  }

  evaluate(_facts: unknown, enrichment: Enrichment): RuleVerdict {
    if (enrichment.userAgent.trim() === '') {
      return this.config.denyEmptyUserAgent
        ? { conclusion: 'DENY', reason: 'EMPTY_USER_AGENT' }
        : ALLOWED;
    }
    const category = enrichment.botCategory;
    return category && this.deny.has(category)
      ? { conclusion: 'DENY', reason: 'BOT_DENIED' }
      : ALLOWED;
  }
}
