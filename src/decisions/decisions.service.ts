import { Injectable } from '@nestjs/common';
import { AnalyticsStore, DecisionRecord } from '../analytics/analytics.port';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { NotFoundError } from '../common/errors';
import { DecisionId, listedBy, parseRuleId, SiteId } from '../common/ids';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { DecisionView, ListDecisionsQuery } from './decisions.schemas';

/** Reads stored decisions through the access policy: a decision belongs to its site's team. */
@Injectable()
export class DecisionsService {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly access: AccessService,
  ) {}

  async list(actor: Actor, siteId: SiteId, query: ListDecisionsQuery): Promise<Page<DecisionView>> {
    await this.access.requireSite(actor, siteId, 'read');
    const rows = await this.store.listDecisions({
      siteId,
      conclusion: query.conclusion,
      ip: query.ip,
      pathPrefix: query.pathPrefix,
      ruleId: query.ruleId === undefined ? undefined : parseRuleId(query.ruleId),
      fromMs: query.from === undefined ? undefined : Date.parse(query.from),
      toMs: query.to === undefined ? undefined : Date.parse(query.to),
      beforeId: decodeCursor(query.cursor, 'req'),
      limit: query.limit + 1,
    });
    return toPage(rows, query.limit, toDecisionView);
  }

  async get(actor: Actor, decisionId: DecisionId): Promise<DecisionView> {
    const record = await this.store.getDecision(decisionId);
    const missing = new NotFoundError('decision', decisionId, listedBy('decision'));
    if (!record) throw missing;
    try {
      await this.access.requireSite(actor, record.siteId as SiteId, 'read');
    } catch (error) {
      // Another team's decision must look exactly like a missing one.
      throw error instanceof NotFoundError ? missing : error;
    }
    return toDecisionView(record);
  }
}

export function toDecisionView(d: DecisionRecord): DecisionView {
  return {
    id: d.id,
    siteId: d.siteId,
    time: new Date(d.timeMs).toISOString(),
    ip: d.ip,
    conclusion: d.conclusion,
    reason: d.reason,
    ruleId: d.ruleId,
    results: d.results,
    dryRunDenials: d.dryRunDenials,
    enrichment: {
      country: d.country,
      asn: d.asn,
      asOrg: d.asOrg,
      networkType: d.networkType as DecisionView['enrichment']['networkType'],
      botCategory: d.botCategory as DecisionView['enrichment']['botCategory'],
    },
    requestData: {
      method: d.method,
      protocol: d.protocol,
      host: d.host,
      path: d.path,
      query: d.query,
      userAgent: d.userAgent,
      headers: d.headers,
      email: d.email,
    },
  };
}
