import { Injectable, Logger } from '@nestjs/common';
import { DecisionRecord } from '../analytics/analytics.port';
import { DecisionWriter } from '../analytics/decision-writer';
import { Clock } from '../common/clock';
import { newDecisionId } from '../common/ids';
import { IntelService } from '../intel/intel.service';
import { classifyUserAgent } from '../rules/engine/bot-classifier';
import { evaluate } from '../rules/engine/engine';
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
    const facts: RequestFacts = input;
    const ip = this.intel.lookup(input.ip);
    const userAgent = input.headers['user-agent'] ?? '';
    const enrichment: Enrichment = {
      country: ip?.country ?? null,
      asn: ip?.asn ?? null,
      asOrg: ip?.asOrg ?? null,
      networkType: ip?.networkType ?? 'unknown',
      botCategory: classifyUserAgent(userAgent, ip?.asn ?? null),
      userAgent,
    };
    const rules = await this.sites.rulesFor(site);
    const outcome = await evaluate(rules, facts, enrichment, (rule, error) =>
      this.logger.error(
        { err: error, ruleId: rule.id, siteId: site.siteId },
        `Rule ${rule.id} failed; it was skipped (fail open)`,
      ),
    );
    const timeMs = this.clock.now().getTime();
    const id = newDecisionId(timeMs);
    this.writer.enqueue(this.record(id, timeMs, site, input, enrichment, outcome));
    return {
      id,
      conclusion: outcome.conclusion,
      reason: outcome.reason,
      results: outcome.results,
      ttl: outcome.ttl,
    };
  }

  private record(
    id: string,
    timeMs: number,
    site: SiteRef,
    input: DecideInput,
    e: Enrichment,
    outcome: Awaited<ReturnType<typeof evaluate>>,
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
