import { Injectable } from '@nestjs/common';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { Clock } from '../common/clock';
import { SiteId } from '../common/ids';
import { AnalyticsStore, TrafficTotals } from './analytics.port';
import { bounded, TOP, TrafficAnalysis } from './analytics.schemas';

const DAY_MS = 86_400_000;

/**
 * The analyses an operator asks for, over the analytics port. Answers are bounded whatever the
 * data size; request-derived strings only ever appear inside `requestData`; summaries and
 * suggested actions are built from numbers, enums and ids.
 */
@Injectable()
export class AnalyticsService {
  constructor(
    private readonly store: AnalyticsStore,
    private readonly access: AccessService,
    private readonly clock: Clock,
  ) {}

  /** Traffic over the last `days` days against the `days` before them. */
  async traffic(actor: Actor, siteId: SiteId, days: number): Promise<TrafficAnalysis> {
    await this.access.requireSite(actor, siteId, 'read');
    const to = this.clock.now().getTime();
    const from = to - days * DAY_MS;
    const before = from - days * DAY_MS;
    const [now, then] = await Promise.all([
      this.store.trafficSummary({ siteId, fromMs: from, toMs: to }, TOP),
      this.store.trafficTotals({ siteId, fromMs: before, toMs: from }),
    ]);
    const current = period(from, to, now);
    const previous = period(before, from, then);
    const change = {
      requestsPct: percentChange(then.requests, now.requests),
      denialsPct: percentChange(then.denials, now.denials),
    };
    const span = `${days} day${days === 1 ? '' : 's'}`;
    const trend =
      change.requestsPct === null
        ? `no requests in the ${span} before to compare with`
        : `requests ${change.requestsPct >= 0 ? 'up' : 'down'} ${Math.abs(change.requestsPct)}% on the ${span} before`;
    const summary = `${now.requests} requests in the last ${span}, ${now.denials} denied (${(current.denialRate * 100).toFixed(1)}%); ${trend}.`;

    const suggestedActions: TrafficAnalysis['suggestedActions'] = [];
    const topDenied = [...now.topIps].sort((a, b) => b.denials - a.denials)[0];
    if (topDenied && topDenied.denials > 0) {
      suggestedActions.push({
        tool: 'list-decisions',
        arguments: { siteId, ip: topDenied.ip, conclusion: 'DENY' },
        reason: 'SEE_TOP_DENIED_CLIENT',
      });
    }
    if (now.denials > 0) {
      suggestedActions.push({
        tool: 'list-decisions',
        arguments: { siteId, conclusion: 'DENY' },
        reason: 'SEE_DENIALS',
      });
    }
    suggestedActions.push({ tool: 'list-rules', arguments: { siteId }, reason: 'REVIEW_RULES' });

    return {
      siteId,
      days,
      summary,
      current,
      previous,
      change,
      topPaths: now.topPaths.map((p) => ({
        requests: p.requests,
        denials: p.denials,
        requestData: { path: bounded(p.path) },
      })),
      topIps: now.topIps.map((ip) => ({
        ...ip,
        networkType: ip.networkType as TrafficAnalysis['topIps'][number]['networkType'],
      })),
      topDenialReasons: now.topDenialReasons.map((r) => ({
        reason: r.reason as TrafficAnalysis['topDenialReasons'][number]['reason'],
        count: r.count,
      })),
      suggestedActions,
    };
  }
}

function period(fromMs: number, toMs: number, t: TrafficTotals) {
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    requests: t.requests,
    denials: t.denials,
    denialRate: t.requests === 0 ? 0 : t.denials / t.requests,
  };
}

/** Whole percent change from `before` to `after`; null when there was nothing before. */
function percentChange(before: number, after: number): number | null {
  return before === 0 ? null : Math.round(((after - before) / before) * 100);
}
