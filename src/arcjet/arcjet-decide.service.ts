import { Code, ConnectError } from '@connectrpc/connect';
import {
  BotType,
  Conclusion,
  type DecideRequest,
  type Decision,
  EmailType,
  type IpDetails,
  type Reason,
  type ReportRequest,
  type RequestDetails,
  type RuleResult as WireResult,
  RuleState,
} from '@arcjet/protocol/proto/decide/v1alpha1/decide_pb.js';
import { Injectable, Logger } from '@nestjs/common';
import type { RuleResult } from '../analytics/analytics.port';
import { Clock } from '../common/clock';
import { toFieldErrors } from '../common/validation';
import { DecideInput } from '../decisions/decide.schemas';
import { DecideService, ReportedOutcome } from '../decisions/decide.service';
import { SiteDirectory, SiteRef } from '../decisions/site-directory';
import type { IpIntel } from '../intel/intel.types';
import { IntelService } from '../intel/intel.service';
import { CounterStore } from '../rules/engine/rate-limit';
import type { DecisionReason } from '../rules/engine/types';
import type { ResultType, RuleMode } from '../rules/rules.schemas';
import { SdkAnalyzer, type AnalyzeRequest } from './sdk-analyzer';
import { reportedSdkRuleId, SdkRequest, SdkRule, SdkRules } from './sdk-rules';

const KEY_HINT =
  'Pass the site key as `key` to arcjet() (the SDK sends it as "Authorization: Bearer bwk_..."); a key manager reads it with GET /v1/sites/{siteId}/key (MCP: get-site-key).';

type Init<T> = Omit<T, '$typeName' | '$unknown'>;
export interface DecideResponseInit {
  decision: Omit<Init<Decision>, 'reason' | 'ipDetails' | 'ruleResults'> & {
    reason?: Reason;
    ruleResults: WireResult[];
    ipDetails?: IpDetails;
  };
}

/** Decide and Report accept at most this many rules and results (the SDK sends at most 10). */
const MAX_REPORTED = 20;
const MAX_EXTRA = 20;
const EXTRA_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Arcjet's DecideService (proto.decide.v1alpha1) on Bulwark's decide path. Decide evaluates the
 * site's own rules and the rules the SDK sent in one engine run and records the decision like
 * `POST /v1/decide`; Report records what the SDK decided locally (bot, email, sensitive-info
 * denials, cached denials, errors). Both answer only after the site key is known to be good.
 */
@Injectable()
export class ArcjetDecideService {
  private readonly logger = new Logger('ArcjetDecide');
  private readonly rules: SdkRules;

  constructor(
    private readonly sites: SiteDirectory,
    private readonly decisions: DecideService,
    private readonly intel: IntelService,
    readonly analyzer: SdkAnalyzer,
    counters: CounterStore,
    clock: Clock,
  ) {
    this.rules = new SdkRules(counters, analyzer, () => clock.now().getTime());
  }

  /** The site of an `Authorization: Bearer <site key>` header; Unauthenticated otherwise. */
  async authenticate(authorization: string | null): Promise<SiteRef> {
    const key = /^Bearer (\S+)$/i.exec(authorization?.trim() ?? '')?.[1];
    if (!key) {
      throw new ConnectError(`This service needs a site key. ${KEY_HINT}`, Code.Unauthenticated);
    }
    const site = await this.sites.resolveKey(key);
    if (!site) {
      throw new ConnectError(
        `The site key is not valid: it is unknown or has been rotated. ${KEY_HINT}`,
        Code.Unauthenticated,
      );
    }
    return site;
  }

  /** Answers with the response's init shape; Connect builds and encodes the message. */
  async decide(site: SiteRef, request: DecideRequest): Promise<DecideResponseInit> {
    if (request.rules.length > MAX_REPORTED) {
      throw new ConnectError(
        `A Decide carries at most ${MAX_REPORTED} rules (the SDK allows 10); got ${request.rules.length}.`,
        Code.InvalidArgument,
      );
    }
    const { input, analyze } = this.input(request.details);
    const intel = this.intel.lookup(input.ip);
    const sdkRequest: SdkRequest = {
      analyze,
      characteristics: request.characteristics.length > 0 ? request.characteristics : ['ip.src'],
      intel,
    };
    const sdkRules = await this.rules.compile(site.siteId, request.rules, sdkRequest);
    const compiled = sdkRules.flatMap((r) => (r.compiled ? [r.compiled] : []));
    const { id, outcome, rules } = await this.decisions.decideWith(site, input, compiled);

    const own = rules.length - compiled.length;
    const results: WireResult[] = [];
    let decidingReason: Reason | undefined;
    for (let i = 0; i < own; i++) {
      const rendered = this.ownResult(outcome.results[i], outcome.verdicts[i].retryAfterSeconds);
      if (outcome.ruleId === rules[i].id) decidingReason = rendered.reason;
      results.push(rendered);
    }
    let next = own;
    for (const rule of sdkRules) {
      if (!rule.compiled) {
        results.push(wireResult('', RuleState.NOT_RUN, Conclusion.ALLOW, 0, ''));
        continue;
      }
      const i = next++;
      const rendered = await this.sdkResult(rule, outcome.results[i], outcome.verdicts[i], analyze);
      if (outcome.ruleId === rules[i].id) decidingReason = rendered.reason;
      // An allowed request carries its rate limit's state (apps send X-RateLimit-* from it).
      if (outcome.conclusion === 'ALLOW' && rule.type === 'rate_limit') {
        decidingReason ??= rendered.reason;
      }
      results.push(rendered);
    }

    return {
      decision: {
        id,
        conclusion: outcome.conclusion === 'DENY' ? Conclusion.DENY : Conclusion.ALLOW,
        reason: decidingReason,
        ruleResults: results,
        ttl: outcome.ttl,
        ipDetails: ipDetails(intel),
      },
    };
  }

  report(site: SiteRef, request: ReportRequest): Record<string, never> {
    const { input } = this.input(request.details);
    const decision = request.decision;
    if (!decision) {
      throw new ConnectError(
        'decision is missing: Report records a decision the SDK took; send it in `decision`.',
        Code.InvalidArgument,
      );
    }
    if (decision.ruleResults.length > MAX_REPORTED || request.rules.length > MAX_REPORTED) {
      throw new ConnectError(
        `A report carries at most ${MAX_REPORTED} rules and rule results (the SDK allows 10 rules).`,
        Code.InvalidArgument,
      );
    }
    this.decisions.report(site, input, reportedOutcome(decision, request));
    return {};
  }

  /** The SDK's request details as Bulwark's decide input, validated by the same schema. */
  private input(details: RequestDetails | undefined): {
    input: DecideInput;
    analyze: AnalyzeRequest;
  } {
    if (!details) {
      throw new ConnectError(
        'details is missing: send the request under investigation in `details`.',
        Code.InvalidArgument,
      );
    }
    const characteristics: Record<string, string> = {};
    let extras = 0;
    for (const [name, value] of Object.entries(details.extra)) {
      if (extras >= MAX_EXTRA || !EXTRA_NAME.test(name) || value.length > 256) continue;
      characteristics[name] = value;
      extras++;
    }
    const headers: Record<string, string> = { ...details.headers };
    if (details.cookies) headers.cookie = details.cookies;
    const parsed = DecideInput.safeParse({
      ip: details.ip,
      method: details.method,
      protocol: details.protocol.replace(/:$/, ''),
      host: details.host,
      path: details.path || '/',
      query: details.query,
      headers,
      ...(details.email ? { email: details.email } : {}),
      characteristics,
    });
    if (!parsed.success) {
      const fields = toFieldErrors(parsed.error, 'details')
        .map((e) => `${e.field} ${e.message}`)
        .join('; ');
      throw new ConnectError(`The request details are not valid: ${fields}.`, Code.InvalidArgument);
    }
    return {
      input: parsed.data,
      analyze: {
        ip: details.ip,
        method: details.method,
        protocol: details.protocol,
        host: details.host,
        path: details.path,
        headers: details.headers,
        cookies: details.cookies,
        query: details.query,
        extra: details.extra,
      },
    };
  }

  /** A result of one of the site's own (Bulwark) rules. */
  private ownResult(result: RuleResult, retryAfter: number | undefined): WireResult {
    const { state, conclusion } = wireVerdict(result);
    const ttl = conclusion === Conclusion.DENY && result.mode === 'LIVE' ? (retryAfter ?? 0) : 0;
    return wireResult(result.ruleId, state, conclusion, ttl, '', wireReason(result, undefined));
  }

  /**
   * A result of an SDK rule. The SDK caches a LIVE DENY with a ttl under its own (rule id,
   * fingerprint) and decides locally until it expires; only those answers need the
   * fingerprint, so it is computed for them alone (one WebAssembly call, ~10 µs), never for an
   * ALLOW. A DRY_RUN denial is never given a ttl or fingerprint: cached, it would be enforced.
   */
  private async sdkResult(
    rule: SdkRule,
    result: RuleResult,
    verdict: { retryAfterSeconds?: number; remaining?: number },
    analyze: AnalyzeRequest,
  ): Promise<WireResult> {
    const { state, conclusion } = wireVerdict(result);
    let ttl = 0;
    let fingerprint = '';
    if (conclusion === Conclusion.DENY && rule.mode === 'LIVE' && rule.characteristics) {
      ttl = verdict.retryAfterSeconds ?? 0;
      if (ttl > 0) {
        try {
          fingerprint = await this.analyzer.fingerprint(analyze, rule.characteristics);
        } catch (error) {
          this.logger.warn({ err: error }, 'Fingerprint failed; the SDK will not cache this DENY');
          ttl = 0;
        }
      }
    }
    return wireResult(
      rule.sdkId,
      state,
      conclusion,
      ttl,
      fingerprint,
      wireReason(result, rule, verdict),
    );
  }
}

function wireResult(
  ruleId: string,
  state: RuleState,
  conclusion: Conclusion,
  ttl: number,
  fingerprint: string,
  reason?: Reason,
): WireResult {
  return { ruleId, state, conclusion, ttl, fingerprint, reason } as WireResult;
}

function wireVerdict(result: RuleResult): { state: RuleState; conclusion: Conclusion } {
  const state = result.mode === 'LIVE' ? RuleState.RUN : RuleState.DRY_RUN;
  if (result.reason === 'RULE_ERROR') return { state, conclusion: Conclusion.ERROR };
  return { state, conclusion: result.conclusion === 'DENY' ? Conclusion.DENY : Conclusion.ALLOW };
}

const SHIELD_REASONS: ReadonlySet<DecisionReason> = new Set([
  'SQL_INJECTION',
  'XSS',
  'PATH_TRAVERSAL',
  'COMMAND_INJECTION',
  'SCANNER',
]);

/** Bulwark's reason in the SDK's terms (the SDK shows it as `decision.reason`). */
function wireReason(
  result: RuleResult,
  rule: SdkRule | undefined,
  verdict?: { retryAfterSeconds?: number; remaining?: number },
): Reason | undefined {
  const r = result.reason;
  const reason = (value: Reason['reason']) => ({ reason: value }) as Reason;
  if (r === 'RULE_ERROR') {
    return reason({
      case: 'error',
      value: { message: 'The rule failed; it was skipped (fail open).' },
    } as Reason['reason']);
  }
  switch (result.type) {
    case 'rate_limit': {
      const denied = result.conclusion === 'DENY';
      const max = rule?.rateLimit?.max ?? 0;
      const reset = denied ? (verdict?.retryAfterSeconds ?? 0) : 0;
      return reason({
        case: 'rateLimit',
        value: {
          max,
          remaining: denied ? 0 : (verdict?.remaining ?? max),
          resetInSeconds: reset,
          windowInSeconds: rule?.rateLimit?.windowSeconds ?? 0,
        },
      } as Reason['reason']);
    }
    case 'shield':
      return reason({
        case: 'shield',
        value: { shieldTriggered: SHIELD_REASONS.has(r), suspicious: false },
      } as Reason['reason']);
    case 'email':
      return reason({
        case: 'email',
        value: {
          emailTypes:
            r === 'EMAIL_INVALID'
              ? [EmailType.INVALID]
              : r === 'EMAIL_DISPOSABLE'
                ? [EmailType.DISPOSABLE]
                : r === 'EMAIL_FREE'
                  ? [EmailType.FREE]
                  : [],
        },
      } as Reason['reason']);
    case 'filter':
      return reason({ case: 'filter', value: {} } as Reason['reason']);
    case 'bot':
      return reason({
        case: 'bot',
        value: {
          botType: result.conclusion === 'DENY' ? BotType.AUTOMATED : BotType.LIKELY_NOT_A_BOT,
        },
      } as Reason['reason']);
    default:
      return undefined;
  }
}

/** Bulwark's threat intelligence as the SDK's `decision.ip` (unknown fields stay empty). */
function ipDetails(intel: IpIntel | null): IpDetails | undefined {
  if (!intel) return undefined;
  return {
    country: intel.country ?? '',
    asn: intel.asn === null ? '' : String(intel.asn),
    asnName: intel.asOrg ?? '',
    asnType:
      intel.networkType === 'hosting'
        ? 'hosting'
        : intel.networkType === 'residential'
          ? 'isp'
          : '',
    isHosting: intel.networkType === 'hosting',
    isVpn: intel.networkType === 'vpn',
    isTor: intel.networkType === 'tor',
  } as IpDetails;
}

/** What the SDK reports, as a recorded outcome: its rules and results, in its own order. */
function reportedOutcome(decision: Decision, request: ReportRequest): ReportedOutcome {
  const results: RuleResult[] = [];
  decision.ruleResults.forEach((result, i) => {
    if (result.state === RuleState.NOT_RUN || result.state === RuleState.UNSPECIFIED) return;
    const rule = request.rules[i]?.rule;
    const mode: RuleMode = result.state === RuleState.DRY_RUN ? 'DRY_RUN' : 'LIVE';
    const denied = result.conclusion === Conclusion.DENY;
    results.push({
      ruleId: reportedSdkRuleId(result.ruleId),
      type: resultType(rule?.case, result.reason),
      mode,
      conclusion: denied ? 'DENY' : 'ALLOW',
      reason: reportedReason(result.reason, result.conclusion),
    });
  });
  const deciding = results.find((r) => r.mode === 'LIVE' && r.conclusion === 'DENY');
  const conclusion = decision.conclusion === Conclusion.DENY ? 'DENY' : 'ALLOW';
  return {
    conclusion,
    reason:
      conclusion === 'DENY'
        ? (deciding?.reason ?? reportedReason(decision.reason, decision.conclusion))
        : decision.conclusion === Conclusion.ERROR
          ? 'RULE_ERROR'
          : 'NO_RULE_DENIED',
    ruleId: conclusion === 'DENY' ? (deciding?.ruleId ?? null) : null,
    results,
    dryRunDenials: results
      .filter((r) => r.mode === 'DRY_RUN' && r.conclusion === 'DENY')
      .map((r) => r.ruleId),
  };
}

function resultType(kind: string | undefined, reason: Reason | undefined): ResultType {
  switch (kind ?? reason?.reason.case) {
    case 'rateLimit':
      return 'rate_limit';
    case 'bots':
    case 'bot':
    case 'botV2':
      return 'bot';
    case 'email':
      return 'email';
    case 'shield':
      return 'shield';
    case 'sensitiveInfo':
      return 'sensitive_info';
    case 'promptInjectionDetection':
    case 'promptInjection':
      return 'prompt_injection';
    default:
      return 'filter';
  }
}

/** The SDK's reason as one of Bulwark's server-defined reasons (never its free text). */
function reportedReason(reason: Reason | undefined, conclusion: Conclusion): DecisionReason {
  if (conclusion === Conclusion.ERROR) return 'RULE_ERROR';
  if (conclusion !== Conclusion.DENY) return 'NOT_MATCHED';
  const r = reason?.reason;
  switch (r?.case) {
    case 'rateLimit':
      return 'RATE_LIMITED';
    case 'bot':
    case 'botV2':
      return 'BOT_DENIED';
    case 'email': {
      const types = r.value.emailTypes;
      if (types.includes(EmailType.INVALID)) return 'EMAIL_INVALID';
      if (types.includes(EmailType.DISPOSABLE)) return 'EMAIL_DISPOSABLE';
      if (types.includes(EmailType.FREE)) return 'EMAIL_FREE';
      return 'EMAIL_INVALID';
    }
    case 'shield':
      return 'SCANNER';
    case 'filter':
      return 'FILTER_DENIED';
    case 'sensitiveInfo':
      return 'SENSITIVE_INFO';
    case 'promptInjection':
      return 'PROMPT_INJECTION';
    case 'error':
      return 'RULE_ERROR';
    default:
      return 'NOT_MATCHED';
  }
}
