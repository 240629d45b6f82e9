import { Injectable } from '@nestjs/common';
import { AnalyticsStore, DecisionRecord } from '../analytics/analytics.port';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { NotFoundError, ValidationError } from '../common/errors';
import { DecisionId, listedBy, parseRuleId, SiteId } from '../common/ids';
import { bounded } from '../common/output-budget';
import { decodeCursor, Page, toPage } from '../common/pagination';
import { counted, NOUNS } from '../common/text';
import { SDK_RULE_ID, SDK_RULE_PREFIX } from '../arcjet/sdk-rules';
import { DecisionExplanation, DecisionView, ListDecisionsQuery } from './decisions.schemas';

/** Rules an Arcjet SDK sent or reported (src/arcjet) are recorded as sdk_<the SDK's id>. */
function isSdkRule(ruleId: string): boolean {
  return ruleId.startsWith(SDK_RULE_PREFIX);
}

/** A ruleId filter: a Bulwark rule (rule_...) or a rule of the app's Arcjet SDK (sdk_...). */
function filterRuleId(ruleId: string): string {
  if (SDK_RULE_ID.test(ruleId)) return ruleId;
  try {
    return parseRuleId(ruleId);
  } catch {
    throw new ValidationError([
      {
        field: 'ruleId',
        message:
          'expected a Bulwark rule id (rule_ followed by 26 characters; list-rules lists them) or a rule id of the app’s Arcjet SDK (sdk_ followed by 64 hexadecimal characters, as in a decision’s results)',
      },
    ]);
  }
}

/** DRY_RUN rule ids an explanation's summary names; the rest are counted (all are in dryRunDenials). */
const SUMMARY_RULES = 3;

/** Reads stored decisions through the access policy: a decision belongs to its site's team. */
@Injectable()
export class DecisionsService {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly access: AccessService,
  ) {}

  /**
   * A page of a site's decisions, request strings cut to MAX_TEXT (getDecision has them whole).
   * `maxBytes` also ends the page before its JSON passes that size (see toPage): MCP passes its
   * output budget.
   */
  async list(
    actor: Actor,
    siteId: SiteId,
    query: ListDecisionsQuery,
    maxBytes = Infinity,
  ): Promise<Page<DecisionView>> {
    await this.access.requireSite(actor, siteId, 'read');
    const rows = await this.store.listDecisions({
      siteId,
      conclusion: query.conclusion,
      ip: query.ip,
      pathPrefix: query.pathPrefix,
      ruleId: query.ruleId === undefined ? undefined : filterRuleId(query.ruleId),
      fromMs: query.from === undefined ? undefined : Date.parse(query.from),
      toMs: query.to === undefined ? undefined : Date.parse(query.to),
      beforeId: decodeCursor(query.cursor, 'req'),
      limit: query.limit + 1,
    });
    return toPage(rows, query.limit, (d) => toDecisionView(d, bounded), maxBytes);
  }

  /** One decision with its request data whole, as stored. */
  async get(actor: Actor, decisionId: DecisionId): Promise<DecisionView> {
    return toDecisionView(await this.record(actor, decisionId));
  }

  /**
   * Why a decision came out as it did. The summary and suggested actions are built from enums,
   * ids and counts only: request data stays in requestData, where it is marked untrusted.
   */
  async explain(actor: Actor, decisionId: DecisionId): Promise<DecisionExplanation> {
    const d = await this.record(actor, decisionId);
    const deciding = d.results.find((r) => r.ruleId === d.ruleId) ?? null;
    const dry = d.dryRunDenials.length;
    const named = d.dryRunDenials.slice(0, SUMMARY_RULES).join(', ');
    const more = dry > SUMMARY_RULES ? ` and ${dry - SUMMARY_RULES} more` : '';
    const dryText =
      dry === 0
        ? 'no DRY_RUN rule would have denied it'
        : `${counted(dry, NOUNS.dryRunRule)} (${named}${more}) would have denied it`;
    const summary = deciding
      ? `DENY: LIVE ${deciding.type} rule ${deciding.ruleId}${isSdkRule(deciding.ruleId) ? ' (configured in the app’s Arcjet SDK code, not in Bulwark)' : ''} found ${deciding.reason}; ${dryText}.`
      : `ALLOW: ${counted(d.results.length, NOUNS.rule)} evaluated, no LIVE rule denied; ${dryText}.`;
    const suggestedActions: DecisionExplanation['suggestedActions'] = [];
    // Rules configured in the app's SDK code live there: no Bulwark tool reads or changes them.
    if (deciding && !isSdkRule(deciding.ruleId)) {
      suggestedActions.push(
        {
          tool: 'get-rule',
          arguments: { ruleId: deciding.ruleId },
          reason: 'INSPECT_DECIDING_RULE',
        },
        {
          tool: 'demote-rule',
          arguments: { ruleId: deciding.ruleId },
          reason: 'DEMOTE_IF_FALSE_POSITIVE',
        },
      );
    }
    for (const ruleId of d.dryRunDenials.filter((id) => !isSdkRule(id)).slice(0, 3)) {
      suggestedActions.push({
        tool: 'get-rule',
        arguments: { ruleId },
        reason: 'INSPECT_DRY_RUN_RULE',
      });
    }
    suggestedActions.push({
      tool: 'list-decisions',
      arguments: { siteId: d.siteId, ip: d.ip },
      reason: 'SEE_CLIENT_HISTORY',
    });
    const view = toDecisionView(d, bounded);
    return {
      decisionId: d.id,
      siteId: d.siteId,
      time: view.time,
      summary,
      conclusion: d.conclusion,
      reason: d.reason,
      decidingRule: deciding,
      rules: d.results,
      dryRunDenials: d.dryRunDenials,
      ip: d.ip,
      enrichment: view.enrichment,
      requestData: view.requestData,
      suggestedActions,
    };
  }

  /** The stored decision, if the caller may read its site; otherwise the same not-found. */
  private async record(actor: Actor, decisionId: DecisionId): Promise<DecisionRecord> {
    const record = await this.store.getDecision(decisionId);
    const missing = new NotFoundError('decision', decisionId, listedBy('decision'));
    if (!record) throw missing;
    try {
      await this.access.requireSite(actor, record.siteId as SiteId, 'read');
    } catch (error) {
      // Another team's decision must look exactly like a missing one.
      throw error instanceof NotFoundError ? missing : error;
    }
    return record;
  }
}

/**
 * The view of a stored decision; `text` is applied to every request-derived string (lists and
 * explanations pass `bounded`, so an agent's answer stays within its budget). The user agent is
 * shown once, as `userAgent`: the stored headers keep a copy of it too (decisions written before
 * and after this view changed look the same), and a second copy would only spend the budget.
 */
export function toDecisionView(
  d: DecisionRecord,
  text: (s: string) => string = (s) => s,
): DecisionView {
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
      host: text(d.host),
      path: text(d.path),
      query: text(d.query),
      userAgent: text(d.userAgent),
      headers: Object.fromEntries(
        Object.entries(d.headers)
          .filter(([name]) => name !== 'user-agent')
          .map(([name, v]) => [name, text(v)]),
      ),
      email: d.email === null ? null : text(d.email),
    },
  };
}
