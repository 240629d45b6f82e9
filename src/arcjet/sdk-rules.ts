import {
  EmailType,
  Mode,
  RateLimitAlgorithm,
  type Rule,
} from '@arcjet/protocol/proto/decide/v1alpha1/decide_pb.js';
import * as hasher from '@arcjet/stable-hash';
import type { z } from 'zod';
import type { IpIntel } from '../intel/intel.types';
import type { CompiledRule } from '../rules/engine/engine';
import { EmailRule } from '../rules/engine/email';
import { CounterStore, RateLimitRule } from '../rules/engine/rate-limit';
import { ShieldRule } from '../rules/engine/shield';
import type { RequestFacts, RuleEvaluator, RuleVerdict } from '../rules/engine/types';
import { ALLOWED } from '../rules/engine/types';
import {
  EMAIL_CHECKS,
  type RateLimitConfig,
  type ResultType,
  type RuleMode,
  SHIELD_ATTACKS,
} from '../rules/rules.schemas';
import type { AnalyzeRequest, SdkAnalyzer } from './sdk-analyzer';

/** Stored rule ids of SDK rules: `sdk_` and the SDK's own rule id (a SHA-256 in hex). */
export const SDK_RULE_PREFIX = 'sdk_';

/** A stored SDK rule id: a SHA-256 in hex, or `unknown` when the SDK gave none we accept. */
export const SDK_RULE_ID = /^sdk_([0-9a-f]{64}|unknown)$/;

/**
 * The stored id of a rule an SDK reported. A report is written by whoever holds the site key, so
 * its rule ids are untrusted text: anything but the SDK's own form (64 hex digits) is recorded
 * as `sdk_unknown`, never stored, so ids shown to agents stay server-shaped.
 */
export function reportedSdkRuleId(reported: string): string {
  const id = SDK_RULE_PREFIX + reported;
  return SDK_RULE_ID.test(id) ? id : `${SDK_RULE_PREFIX}unknown`;
}

/** Seconds the SDK keeps a filter DENY (what its own filter rule uses). */
const FILTER_DENY_TTL = 60;

/** What one rule the SDK sent became for this request. */
export interface SdkRule {
  /** The rule's kind, as recorded with decisions. */
  type: ResultType;
  mode: RuleMode;
  /** The evaluator, or null when Bulwark does not evaluate this kind (answered NOT_RUN). */
  compiled: CompiledRule | null;
  /** The SDK's id of the rule (hex), where Bulwark reproduces it; '' otherwise. */
  sdkId: string;
  /** Characteristics the SDK fingerprints this rule's clients by; null when it caches nothing. */
  characteristics: readonly string[] | null;
  rateLimit?: { max: number; windowSeconds: number };
}

/** The request a plan is compiled for: what SDK filters and rate-limit keys read. */
export interface SdkRequest {
  analyze: AnalyzeRequest;
  /** Top-level characteristics of the protect() call (`ip.src` when none). */
  characteristics: readonly string[];
  intel: IpIntel | null;
}

interface Compiled {
  compiled: CompiledRule | null;
  sdkId: string;
}

const MAX_CACHED = 10_000;

/**
 * Turns the rules an Arcjet SDK sends with each Decide into Bulwark evaluators, so they run in
 * the same engine as the site's own rules:
 * - shield: Bulwark's shield (libddwaf) on path, query, headers and cookies;
 * - rate limits, all three algorithms with the SDK's parameters, counted per site and rule by the
 *   SDK's characteristics, in the same counter store (memory or Redis) as Bulwark's rate limits;
 * - email: Bulwark's disposable and free-provider lists and its syntax check (the SDK checks
 *   syntax locally; NO_MX_RECORDS and NO_GRAVATAR need network lookups Bulwark does not make);
 * - filter: the SDK's expressions through Arcjet's own engine, with Bulwark's intelligence for
 *   `ip.src.country`, `.asnum`, `.hosting`, `.vpn`, `.tor`.
 * Bot detection, sensitive info and prompt injection run in the SDK itself (the body never
 * reaches Bulwark): those come back NOT_RUN, and their local denials arrive through Report.
 *
 * Compiled rules are cached per site and configuration, so a rule's counters and its SDK id are
 * built once, not per request.
 */
export class SdkRules {
  private readonly cache = new Map<string, Compiled>();

  constructor(
    private readonly counters: CounterStore,
    private readonly analyzer: SdkAnalyzer,
    private readonly now: () => number,
  ) {}

  async compile(siteId: string, rules: readonly Rule[], request: SdkRequest): Promise<SdkRule[]> {
    return Promise.all(rules.map((rule) => this.one(siteId, rule, request)));
  }

  private async one(siteId: string, rule: Rule, request: SdkRequest): Promise<SdkRule> {
    const { rule: r } = rule;
    switch (r.case) {
      case 'rateLimit': {
        const v = r.value;
        const mode = modeOf(v.mode);
        const characteristics = v.characteristics.length > 0 ? v.characteristics : ['ip.src'];
        const limits = rateLimitConfig(v);
        if (!limits) return notRun('rate_limit', mode);
        const { config, hashed } = limits;
        const key = `${siteId}|rl|${mode}|${JSON.stringify(config)}|${[...characteristics].sort().join(',')}`;
        const entry = await this.cached(key, async () => {
          const sdkId = await hasher.hash(
            hasher.string('type', 'RATE_LIMIT'),
            hasher.uint32('version', v.version),
            hasher.string('mode', mode),
            hasher.string('algorithm', hashed.algorithm),
            hasher.stringSliceOrdered('characteristics', v.characteristics),
            hasher.string('match', ''),
            ...hashed.fields.map(([name, value]) => hasher.uint32(name, value)),
          );
          const id = SDK_RULE_PREFIX + sdkId;
          const evaluator = new RateLimitRule(
            `${siteId}:${id}`,
            config,
            this.counters,
            this.now,
            (facts) => characteristicsKey(characteristics, facts),
          );
          return { sdkId, compiled: { id, type: 'rate_limit', mode, evaluator } };
        });
        return {
          type: 'rate_limit',
          mode,
          ...entry,
          characteristics: v.characteristics,
          rateLimit: {
            max: config.algorithm === 'token_bucket' ? config.capacity : config.max,
            windowSeconds:
              config.algorithm === 'fixed_window' ? config.windowSeconds : config.intervalSeconds,
          },
        };
      }
      case 'shield': {
        const mode = modeOf(r.value.mode);
        const entry = await this.cached(
          `shield|${mode}|${r.value.characteristics.join(',')}`,
          async () => {
            const sdkId = await hasher.hash(
              hasher.string('type', 'SHIELD'),
              hasher.uint32('version', r.value.version),
              hasher.string('mode', mode),
              hasher.stringSliceOrdered('characteristics', r.value.characteristics),
            );
            const evaluator = new ShieldRule({ detect: [...SHIELD_ATTACKS] });
            return {
              sdkId,
              compiled: { id: SDK_RULE_PREFIX + sdkId, type: 'shield', mode, evaluator },
            };
          },
        );
        // Shield denials are not cached by the SDK (ttl 0): every attack is seen.
        return { type: 'shield', mode, ...entry, characteristics: null };
      }
      case 'email': {
        const v = r.value;
        const mode = modeOf(v.mode);
        const deny = emailChecks(v.allow, v.deny.length > 0 ? v.deny : v.block);
        if (deny.length === 0) return notRun('email', mode);
        const key = `email|${mode}|${deny.join(',')}|${v.allow.join(',')}|${v.deny.join(',')}|${v.requireTopLevelDomain}|${v.allowDomainLiteral}`;
        const entry = await this.cached(key, async () => {
          const sdkId = await hasher.hash(
            hasher.string('type', 'EMAIL'),
            hasher.uint32('version', v.version),
            hasher.string('mode', mode),
            hasher.stringSliceOrdered(
              'allow',
              v.allow.map((t) => EmailType[t]),
            ),
            hasher.stringSliceOrdered(
              'deny',
              v.deny.map((t) => EmailType[t]),
            ),
            hasher.bool('requireTopLevelDomain', v.requireTopLevelDomain),
            hasher.bool('allowDomainLiteral', v.allowDomainLiteral),
          );
          const evaluator = new EmailRule({ deny });
          return {
            sdkId,
            compiled: { id: SDK_RULE_PREFIX + sdkId, type: 'email', mode, evaluator },
          };
        });
        return { type: 'email', mode, ...entry, characteristics: null };
      }
      case 'filter': {
        const v = r.value;
        const mode = modeOf(v.mode);
        const allowIfMatch = v.allow.length > 0;
        const expressions = allowIfMatch ? v.allow : v.deny;
        if (expressions.length === 0) return notRun('filter', mode);
        const key = `filter|${mode}|${JSON.stringify([v.allow, v.deny])}`;
        const entry = await this.cached(key, async () => {
          const sdkId = await hasher.hash(
            hasher.string('type', 'FILTER'),
            hasher.uint32('version', v.version),
            hasher.string('mode', mode),
            hasher.stringSliceOrdered('allow', v.allow),
            hasher.stringSliceOrdered('deny', v.deny),
          );
          // The evaluator reads the request it is compiled with, so it is built per request.
          return { sdkId, compiled: null };
        });
        const evaluator = new SdkFilter(this.analyzer, request, expressions, allowIfMatch);
        return {
          type: 'filter',
          mode,
          sdkId: entry.sdkId,
          compiled: { id: SDK_RULE_PREFIX + entry.sdkId, type: 'filter', mode, evaluator },
          characteristics: request.characteristics,
        };
      }
      case 'bots':
        return notRun('bot', modeOf(r.value.mode));
      case 'botV2':
        return notRun('bot', modeOf(r.value.mode));
      case 'sensitiveInfo':
        return notRun('sensitive_info', modeOf(r.value.mode));
      case 'promptInjectionDetection':
        return notRun('prompt_injection', modeOf(r.value.mode));
      default:
        // A rule kind newer than this protocol version: answered NOT_RUN, never guessed at.
        return notRun('filter', 'DRY_RUN');
    }
  }

  private async cached(key: string, build: () => Promise<Compiled>): Promise<Compiled> {
    const hit = this.cache.get(key);
    if (hit) return hit;
    const built = await build();
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(key, built);
    return built;
  }
}

function notRun(type: ResultType, mode: RuleMode): SdkRule {
  return { type, mode, compiled: null, sdkId: '', characteristics: null };
}

/** The SDK's mode; an unspecified mode is treated as DRY_RUN, which can never deny. */
function modeOf(mode: Mode): RuleMode {
  return mode === Mode.LIVE ? 'LIVE' : 'DRY_RUN';
}

type RateLimit = Extract<Rule['rule'], { case: 'rateLimit' }>['value'];
type RateLimitSettings = z.infer<typeof RateLimitConfig>;

/**
 * The SDK's rate-limit parameters as a Bulwark rate-limit config, plus the fields the SDK hashes
 * into its rule id. null for parameters no limiter can honour (zero or absurd sizes).
 */
function rateLimitConfig(
  v: RateLimit,
): { config: RateLimitSettings; hashed: { algorithm: string; fields: [string, number][] } } | null {
  const ok = (n: number, max: number) => Number.isInteger(n) && n >= 1 && n <= max;
  const common = { characteristic: 'ip' } as const;
  switch (v.algorithm) {
    case RateLimitAlgorithm.TOKEN_BUCKET:
      if (!ok(v.capacity, 1e9) || !ok(v.refillRate, 1e9) || !ok(v.interval, 31_536_000))
        return null;
      return {
        config: {
          algorithm: 'token_bucket',
          capacity: v.capacity,
          refillRate: v.refillRate,
          intervalSeconds: v.interval,
          ...common,
        },
        hashed: {
          algorithm: 'TOKEN_BUCKET',
          fields: [
            ['refillRate', v.refillRate],
            ['interval', v.interval],
            ['capacity', v.capacity],
          ],
        },
      };
    case RateLimitAlgorithm.SLIDING_WINDOW:
      if (!ok(v.max, 1e9) || !ok(v.interval, 31_536_000)) return null;
      return {
        config: { algorithm: 'sliding_window', max: v.max, intervalSeconds: v.interval, ...common },
        hashed: {
          algorithm: 'SLIDING_WINDOW',
          fields: [
            ['max', v.max],
            ['interval', v.interval],
          ],
        },
      };
    default:
      // FIXED_WINDOW, and UNSPECIFIED which the protocol defines as fixed window.
      if (!ok(v.max, 1e9) || !ok(v.windowInSeconds, 31_536_000)) return null;
      return {
        config: {
          algorithm: 'fixed_window',
          max: v.max,
          windowSeconds: v.windowInSeconds,
          ...common,
        },
        hashed: {
          algorithm: 'FIXED_WINDOW',
          fields: [
            ['max', v.max],
            ['window', v.windowInSeconds],
          ],
        },
      };
  }
}

const EMAIL_TYPE_CHECK: Partial<Record<EmailType, (typeof EMAIL_CHECKS)[number]>> = {
  [EmailType.INVALID]: 'invalid',
  [EmailType.DISPOSABLE]: 'disposable',
  [EmailType.FREE]: 'free',
};

/** Bulwark's email checks for the SDK's lists: an allow-list denies every check it omits. */
function emailChecks(allow: readonly EmailType[], deny: readonly EmailType[]) {
  if (allow.length > 0) {
    const allowed = new Set(allow.map((t) => EMAIL_TYPE_CHECK[t]));
    return EMAIL_CHECKS.filter((c) => !allowed.has(c));
  }
  return EMAIL_CHECKS.filter((c) => deny.some((t) => EMAIL_TYPE_CHECK[t] === c));
}

const HEADER = /^http\.request\.headers\["(.+)"\]$/;
const COOKIE = /^http\.request\.cookie\["(.+)"\]$/;
const ARG = /^http\.request\.uri\.args\["(.+)"\]$/;

/**
 * The rate-limit key for the SDK's characteristics: the values they name, in order. undefined
 * when one is missing (the SDK itself refuses to fingerprint such a request).
 */
export function characteristicsKey(
  characteristics: readonly string[],
  facts: RequestFacts,
): string | undefined {
  const values: string[] = [];
  for (const c of characteristics) {
    let value: string | undefined;
    let m: RegExpExecArray | null;
    if (c === 'ip.src') value = facts.ip;
    else if ((m = HEADER.exec(c))) value = facts.headers[m[1].toLowerCase()];
    else if ((m = COOKIE.exec(c))) value = cookie(facts.headers.cookie ?? '', m[1]);
    else if ((m = ARG.exec(c))) value = new URLSearchParams(facts.query).get(m[1]) ?? undefined;
    else value = facts.characteristics[c];
    if (value === undefined) return undefined;
    values.push(value);
  }
  return values.length === 1 ? values[0] : JSON.stringify(values);
}

function cookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** An SDK filter rule, evaluated by Arcjet's engine for the request it was compiled with. */
class SdkFilter implements RuleEvaluator {
  constructor(
    private readonly analyzer: SdkAnalyzer,
    private readonly request: SdkRequest,
    private readonly expressions: readonly string[],
    private readonly allowIfMatch: boolean,
  ) {}

  async evaluate(): Promise<RuleVerdict & { retryAfterSeconds?: number }> {
    const result = await this.analyzer.matchFilters(
      this.request.analyze,
      this.request.analyze.extra.filterLocal ?? '{}',
      this.expressions,
      this.allowIfMatch,
      this.request.intel,
    );
    if (result.allowed) return ALLOWED;
    return {
      conclusion: 'DENY',
      reason: this.allowIfMatch ? 'FILTER_NOT_ALLOWED' : 'FILTER_DENIED',
      retryAfterSeconds: FILTER_DENY_TTL,
    };
  }
}
