import { Injectable, Logger } from '@nestjs/common';
import { DecisionRecord } from '../analytics/analytics.port';
import { DecisionWriter } from '../analytics/decision-writer';
import { Clock } from '../common/clock';
import { newDecisionId } from '../common/ids';
import { IntelService } from '../intel/intel.service';
import { classifyUserAgent } from '../rules/engine/bot-classifier';
import type { IpIntel } from '../intel/intel.types';
import { CompiledRule, evaluate, Outcome } from '../rules/engine/engine';
import { Enrichment, RequestFacts } from '../rules/engine/types';
import { DecideInput, DecideOutput } from './decide.schemas';
import { SiteDirectory, SiteRef } from './site-directory';

/** Headers worth keeping with a stored decision; the rest are evaluated but not stored. */
const STORED_HEADERS = [
  'user-agent',
  'referer',
  'origin',
  'accept',
  'accept-language',
  'content-type',
  'x-forwarded-for',
  'x-real-ip',
  'via',
  'sec-ch-ua',
  'sec-fetch-site',
];
const MAX_STORED_HEADER = 512;

/** A decision with everything a protocol adapter (REST, Arcjet's Decide RPC) may render. */
export interface Decided {
  id: string;
  outcome: Outcome;
  /** The rules evaluated, in the order of `outcome.results` and `outcome.verdicts`. */
  rules: readonly CompiledRule[];
  intel: IpIntel | null;
}

/** A decision the app's own SDK took locally and reports (Arcjet's Report RPC). */
export type ReportedOutcome = Pick<
  Outcome,
  'conclusion' | 'reason' | 'ruleId' | 'results' | 'dryRunDenials'
>;

/**
 * Answers a protected app's "may this request through?": resolves the site from its key,
 * enriches the request with threat intelligence, runs the site's rules and hands the decision to
 * the analytics writer without waiting for it.
 */
@Injectable()
export class DecideService {
  private readonly logger = new Logger(DecideService.name);

  constructor(
    private readonly sites: SiteDirectory,
    private readonly intel: IntelService,
    private readonly writer: DecisionWriter,
    private readonly clock: Clock,
  ) {}

  async decide(site: SiteRef, input: DecideInput): Promise<DecideOutput> {
    const { id, outcome } = await this.decideWith(site, input);
    return {
      id,
      conclusion: outcome.conclusion,
      reason: outcome.reason,
      results: outcome.results,
      ttl: outcome.ttl,
    };
  }

  /**
   * Decides with the site's own rules first, then `extra` rules the caller brings (the rules an
   * Arcjet SDK sends with each request), in one evaluation: the first LIVE DENY in that order
   * decides, so the site's rules always have the first word.
   */
  async decideWith(
    site: SiteRef,
    input: DecideInput,
    extra: readonly CompiledRule[] = [],
  ): Promise<Decided> {
    const facts: RequestFacts = input;
    const { intel, enrichment } = this.enrich(input);
    const own = await this.sites.rulesFor(site);
    const rules = extra.length === 0 ? own : [...own, ...extra];
    const outcome = await evaluate(rules, facts, enrichment, (rule, error) =>
      this.logger.error(
        { err: error, ruleId: rule.id, siteId: site.siteId },
        `Rule ${rule.id} failed; it was skipped (fail open)`,
      ),
    );
    const id = this.store(site, input, enrichment, outcome);
    return { id, outcome, rules, intel };
  }

  /**
   * Records a decision the app took itself (its SDK denied locally), exactly as a decided one is
   * recorded, so it shows in list-decisions, the analyses and the briefing.
   */
  report(site: SiteRef, input: DecideInput, outcome: ReportedOutcome): string {
    return this.store(site, input, this.enrich(input).enrichment, outcome);
  }

  private enrich(input: DecideInput): { intel: IpIntel | null; enrichment: Enrichment } {
    const intel = this.intel.lookup(input.ip);
    const userAgent = input.headers['user-agent'] ?? '';
    return {
      intel,
      enrichment: {
        country: intel?.country ?? null,
        asn: intel?.asn ?? null,
        asOrg: intel?.asOrg ?? null,
        networkType: intel?.networkType ?? 'unknown',
        botCategory: classifyUserAgent(userAgent, intel?.asn ?? null),
        userAgent,
      },
    };
  }

  private store(
    site: SiteRef,
    input: DecideInput,
    enrichment: Enrichment,
    outcome: ReportedOutcome,
  ): string {
    const timeMs = this.clock.now().getTime();
    const id = newDecisionId(timeMs);
    this.writer.enqueue(this.record(id, timeMs, site, input, enrichment, outcome));
    return id;
  }

  private record(
    id: string,
    timeMs: number,
    site: SiteRef,
    input: DecideInput,
    e: Enrichment,
    outcome: ReportedOutcome,
  ): DecisionRecord {
    const headers: Record<string, string> = {};
    for (const name of STORED_HEADERS) {
      const value = input.headers[name];
      if (value !== undefined) headers[name] = value.slice(0, MAX_STORED_HEADER);
    }
    return {
      id,
      siteId: site.siteId,
      teamId: site.teamId,
      timeMs,
      ip: input.ip,
      method: input.method,
      protocol: input.protocol,
      host: input.host,
      path: input.path,
      query: input.query,
      userAgent: e.userAgent.slice(0, MAX_STORED_HEADER),
      headers,
      email: input.email ?? null,
      country: e.country,
      asn: e.asn,
      asOrg: e.asOrg,
      networkType: e.networkType,
      botCategory: e.botCategory,
      conclusion: outcome.conclusion,
      reason: outcome.reason,
      ruleId: outcome.ruleId,
      results: outcome.results,
      dryRunDenials: outcome.dryRunDenials,
    };
  }
}
