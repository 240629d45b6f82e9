import { createRequire } from 'node:module';
import type { z } from 'zod';
import type { EmailConfig } from '../rules.schemas';
import type { DecisionReason, RequestFacts, RuleEvaluator, RuleVerdict } from './types';
import { ALLOWED } from './types';

type Config = z.infer<typeof EmailConfig>;
export type EmailProblem = 'invalid' | 'disposable' | 'free';

const load = createRequire(__filename);
/** Maintained lists from npm: disposable-email-domains (MIT) and freemail (free providers). */
const DISPOSABLE: ReadonlySet<string> = new Set(
  load('disposable-email-domains') as readonly string[],
);
const freemail = load('freemail') as {
  isFree(email: string): boolean;
  isDisposable(email: string): boolean;
};

/**
 * A pragmatic address check: one @, a local part of printable characters without spaces, a
 * domain of at least two labels (letters, digits, hyphens; IDNs in punycode or Unicode letters),
 * RFC 5321 lengths. It refuses what real mail servers refuse, not every RFC 5322 curiosity.
 */
const LOCAL = /^[^\s@"(),:;<>[\\\]]{1,64}$/u;
const LABEL = /^(?!-)[\p{L}\p{N}-]{1,63}(?<!-)$/u;

export function classifyEmail(email: string): EmailProblem | null {
  const at = email.lastIndexOf('@');
  if (email.length > 254 || at <= 0 || email.indexOf('@') !== at) return 'invalid';
  const local = email.slice(0, at);
  const domain = email
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  const labels = domain.split('.');
  if (
    !LOCAL.test(local) ||
    local.startsWith('.') ||
    local.endsWith('.') ||
    local.includes('..') ||
    labels.length < 2 ||
    !labels.every((l) => LABEL.test(l)) ||
    /^\d+$/.test(labels[labels.length - 1])
  ) {
    return 'invalid';
  }
  if (isDisposableDomain(domain) || freemail.isDisposable(`x@${domain}`)) return 'disposable';
  if (freemail.isFree(`x@${domain}`)) return 'free';
  return null;
}

/** Subdomains of a disposable domain are disposable too (mail.mailinator.com). */
function isDisposableDomain(domain: string): boolean {
  for (let d = domain; d.includes('.'); d = d.slice(d.indexOf('.') + 1)) {
    if (DISPOSABLE.has(d)) return true;
  }
  return false;
}

const REASONS: Record<EmailProblem, DecisionReason> = {
  invalid: 'EMAIL_INVALID',
  disposable: 'EMAIL_DISPOSABLE',
  free: 'EMAIL_FREE',
};

/** Denies the email the app sent with the request when it is invalid, disposable or free. */
export class EmailRule implements RuleEvaluator {
  private readonly deny: ReadonlySet<EmailProblem>;

  constructor(config: Config) {
    this.deny = new Set(config.deny);
  }

  evaluate(facts: RequestFacts): RuleVerdict {
    // No email sent: nothing to judge. Apps send one on sign-up and similar forms.
    if (facts.email === undefined) return ALLOWED;
    const problem = classifyEmail(facts.email.trim());
    return problem && this.deny.has(problem)
      ? { conclusion: 'DENY', reason: REASONS[problem] }
      : ALLOWED;
  }
}
