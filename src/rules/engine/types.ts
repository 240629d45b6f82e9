import type { BOT_CATEGORIES, NETWORK_TYPES, RuleMode, RuleType } from '../rules.schemas';

export type BotCategory = (typeof BOT_CATEGORIES)[number];
export type NetworkType = (typeof NETWORK_TYPES)[number];

/**
 * Why a rule (and so a decision) concluded as it did. Only these server-defined values ever
 * appear in a reason, never text taken from the request, so an agent may read them as facts.
 */
export const DECISION_REASONS = [
  'NO_RULE_DENIED',
  'SQL_INJECTION',
  'XSS',
  'PATH_TRAVERSAL',
  'COMMAND_INJECTION',
  'SCANNER',
  'RATE_LIMITED',
  'BOT_DENIED',
  'EMPTY_USER_AGENT',
  'FILTER_DENIED',
  'FILTER_NOT_ALLOWED',
  'EMAIL_INVALID',
  'EMAIL_DISPOSABLE',
  'EMAIL_FREE',
  'SENSITIVE_INFO',
  'PROMPT_INJECTION',
  'NOT_MATCHED',
  'RULE_ERROR',
] as const;
export type DecisionReason = (typeof DECISION_REASONS)[number];
export type Conclusion = 'ALLOW' | 'DENY';

/** The facts of one request to protect, as the app sent them (normalised, bounded). */
export interface RequestFacts {
  ip: string;
  method: string;
  protocol: string;
  host: string;
  path: string;
  /** Raw query string without the leading `?`. */
  query: string;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string>>;
  email?: string;
  /** Named values the app attaches (userId, tenant...), used as rate-limit keys. */
  characteristics: Readonly<Record<string, string>>;
}

/** What Bulwark learned about the request: threat intelligence and user-agent analysis. */
export interface Enrichment {
  country: string | null;
  asn: number | null;
  asOrg: string | null;
  networkType: NetworkType;
  /** null when the user agent does not look like a bot. */
  botCategory: BotCategory | null;
  userAgent: string;
}

export interface RuleVerdict {
  conclusion: Conclusion;
  reason: DecisionReason;
}

/** One rule's evaluation of one request. Plain classes, no Nest, one per rule type. */
export interface RuleEvaluator {
  evaluate(facts: RequestFacts, enrichment: Enrichment): RuleVerdict | Promise<RuleVerdict>;
}

/** The slice of a stored rule the engine needs. */
export interface EngineRule {
  id: string;
  type: RuleType;
  mode: RuleMode;
  config: unknown;
  createdAt: Date;
}

export const ALLOWED: RuleVerdict = Object.freeze({ conclusion: 'ALLOW', reason: 'NOT_MATCHED' });
