import { Injectable } from '@nestjs/common';
import { DataSource, MoreThan } from 'typeorm';
import { decodeCursor, encodeCursor } from '../common/pagination';
import { bounded } from '../common/output-budget';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { Clock } from '../common/clock';
import { ValidationError } from '../common/errors';
import { listedBy, parseRuleId, SiteId, TeamId } from '../common/ids';
import { NotFoundError } from '../common/errors';
import { IntelService } from '../intel/intel.service';
import { IpIntel } from '../intel/intel.types';
import { counted, Noun, nounFor, NOUNS, span } from '../common/text';
import { FilterRule } from '../rules/engine/filter';
import { RuleEntity } from '../rules/rule.entity';
import { MAX_RULES_PER_SITE, RULE_CONFIG_SCHEMAS, RULE_TYPES } from '../rules/rules.schemas';
import { Plan, PLANS } from '../teams/team.entity';
import { AnalyticsStore, DryRunImpact, HOUR_MS, TrafficTotals } from './analytics.port';
import {
  Anomalies,
  DryRunImpactAnalysis,
  IpInvestigation,
  MAX_RULES,
  MIN_BASELINE,
  QuotaStatus,
  SecurityBriefing,
  READINESS,
  READINESS_REASONS,
  TOP,
  TrafficAnalysis,
} from './analytics.schemas';

/**
 * When a DRY_RUN rule is ready to be promoted (README "Dry-run impact"). Below MIN_EVALUATED
 * decisions there is too little to judge. The false-positive share is the part of the requests it
 * would deny that look like real users; the deny rate is the part of all requests it would deny.
 */
export const READINESS_THRESHOLDS = {
  minEvaluated: 100,
  review: { falsePositiveShare: 0.05, denyRate: 0.1 },
  notReady: { falsePositiveShare: 0.25, denyRate: 0.3 },
} as const;
/** Anomaly detection thresholds (README "Anomalies"). */
export const ANOMALY_THRESHOLDS = {
  /** An hour is a spike above max(mean + 3 sd, 2 x mean, 20) of the previous period's hours. */
  spike: { sigmas: 3, minFactor: 2, minRequests: 20 },
  /** A country's share rose by 10 points, or a country new with 5 % of traffic; 20 requests min. */
  geo: { minShareRise: 0.1, minNewShare: 0.05, minRequests: 20 },
  /** A bot user agent unseen before, with at least 10 requests. */
  bots: { minRequests: 10 },
  /** An IP unseen before, with 100 requests, or 20 of which at least half were denied. */
  ips: { minRequests: 100, minDenied: 20 },
} as const;
/**
 * An email rule judges the address, not the network, so its false-positive estimate is the share
 * of its would-be denials that were ordinary free-provider addresses (EMAIL_FREE): people's
 * personal mailboxes. Invalid and disposable addresses are what such a rule is for. When the rule
 * denies free addresses together with other kinds, the split is measured on its newest
 * EMAIL_SAMPLE would-be denials.
 */
export const EMAIL_SAMPLE = 200;
type Readiness = (typeof READINESS)[number];
type ReadinessReason = (typeof READINESS_REASONS)[number];

const DAY_MS = 86_400_000;
const ALLOWED_REQUEST: Noun = { one: 'allowed request', many: 'allowed requests' };
const EMAIL_REQUEST: Noun = { one: 'request with an email', many: 'requests with an email' };
const LIVE_RULE: Noun = { one: 'LIVE rule', many: 'LIVE rules' };
const IS: Noun = { one: 'is', many: 'are' };
type SiteRule = Pick<RuleEntity, 'id' | 'type' | 'mode' | 'config'>;
/** Most affected IPs and paths listed per DRY_RUN rule. */
const TOP_AFFECTED = 5;

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
    private readonly dataSource: DataSource,
    private readonly intel: IntelService,
  ) {}

  /**
   * What promoting each DRY_RUN rule (or the one given) would change, over the last `days` days
   * or since the rule was created, with a readiness verdict.
   */
  async dryRunImpact(
    actor: Actor,
    siteId: SiteId,
    days: number,
    ruleId?: string,
    cursor?: string,
  ): Promise<DryRunImpactAnalysis> {
    await this.access.requireSite(actor, siteId, 'read');
    if (ruleId !== undefined) {
      const { rule } = await this.access.requireRule(actor, parseRuleId(ruleId), 'read');
      if (rule.siteId !== siteId) throw new NotFoundError('rule', ruleId, listedBy('rule'));
      if (rule.mode !== 'DRY_RUN') {
        throw new ValidationError(
          [
            {
              field: 'ruleId',
              message: 'is LIVE already: its denials are enforced, not simulated',
            },
          ],
          'Call get-dry-run-impact for a DRY_RUN rule, or analyze-traffic and list-decisions (ruleId) to see what a LIVE rule denies.',
        );
      }
      return this.impactOf(siteId, days, [rule], null);
    }
    return this.impactPage(siteId, days, cursor);
  }

  /**
   * One page of the site's DRY_RUN rules, oldest first, with their impact and their `top` most
   * affected IPs and paths. The briefing asks for all of them at once (a site has at most
   * MAX_RULES_PER_SITE) with verdicts only, no IPs or paths.
   */
  private async impactPage(
    siteId: SiteId,
    days: number,
    cursor?: string,
    top = TOP_AFFECTED,
    size = MAX_RULES,
  ): Promise<DryRunImpactAnalysis> {
    // Keyset pages on the rule id (TypeIDs sort by creation).
    const after = decodeCursor(cursor, 'rule');
    const page = await this.dataSource.getRepository(RuleEntity).find({
      where: {
        siteId,
        mode: 'DRY_RUN',
        ...(after ? { id: MoreThan(after as RuleEntity['id']) } : {}),
      },
      order: { id: 'ASC' },
      take: size + 1,
    });
    const rules = page.slice(0, size);
    const next = page.length > size ? encodeCursor(rules[rules.length - 1].id) : null;
    return this.impactOf(siteId, days, rules, next, top);
  }

  private async impactOf(
    siteId: SiteId,
    days: number,
    rules: RuleEntity[],
    nextCursor: string | null,
    top = TOP_AFFECTED,
  ): Promise<DryRunImpactAnalysis> {
    const now = this.clock.now().getTime();
    const windowStart = now - days * DAY_MS;
    const windows = rules.map((rule) => ({
      ruleId: rule.id,
      fromMs: Math.max(windowStart, rule.createdAt.getTime()),
      emailOnly: rule.type === 'email',
    }));
    const measured = await this.store.dryRunImpacts(siteId, now, windows, top);
    const emailShares = await Promise.all(
      rules.map((rule, i) =>
        rule.type === 'email'
          ? this.freeAddressShare(siteId, rule, windows[i].fromMs, now, measured[i].wouldDeny)
          : Promise.resolve(undefined),
      ),
    );
    const impacts = rules.map((rule, i) =>
      ruleImpact(rule, windows[i].fromMs, measured[i], emailShares[i]),
    );
    const suggestedActions = impacts.map((r): DryRunImpactAnalysis['suggestedActions'][number] =>
      r.verdict === 'READY'
        ? { tool: 'promote-rule', arguments: { ruleId: r.ruleId }, reason: 'PROMOTE_READY_RULE' }
        : {
            tool: 'list-decisions',
            arguments: { siteId, ruleId: r.ruleId, conclusion: 'ALLOW' },
            reason: 'REVIEW_WOULD_BE_DENIALS',
          },
    );
    return { siteId, days, rules: impacts, nextCursor, suggestedActions };
  }

  /**
   * The estimated false-positive share of an email rule (see EMAIL_SAMPLE): 0 when it does not
   * deny free addresses, 1 when that is all it denies, else the EMAIL_FREE share of its newest
   * would-be denials (allowed live) in the window.
   */
  private async freeAddressShare(
    siteId: SiteId,
    rule: RuleEntity,
    fromMs: number,
    toMs: number,
    wouldDeny: number,
  ): Promise<number> {
    const config = RULE_CONFIG_SCHEMAS.email.safeParse(rule.config);
    const deny = config.success ? config.data.deny : [];
    if (wouldDeny === 0 || !deny.includes('free')) return 0;
    if (deny.every((d) => d === 'free')) return 1;
    const sample = await this.store.listDecisions({
      siteId,
      ruleId: rule.id,
      conclusion: 'ALLOW',
      fromMs,
      toMs,
      limit: EMAIL_SAMPLE,
    });
    if (sample.length === 0) return 0;
    const free = sample.filter((d) =>
      d.results.some((r) => r.ruleId === rule.id && r.reason === 'EMAIL_FREE'),
    ).length;
    return free / sample.length;
  }

  /** The site's rules with their configs (at most MAX_RULES_PER_SITE). */
  private siteRules(siteId: SiteId): Promise<SiteRule[]> {
    return this.dataSource.getRepository(RuleEntity).find({
      where: { siteId },
      select: { id: true, type: true, mode: true, config: true },
      order: { id: 'ASC' },
    });
  }

  /**
   * What is unusual in the last `hours` hours compared with the same length before: traffic
   * spikes, geographic shifts, new bot signatures, surging new IPs. Quiet on steady traffic.
   */
  async anomalies(actor: Actor, siteId: SiteId, hours: number): Promise<Anomalies> {
    await this.access.requireSite(actor, siteId, 'read');
    return this.anomaliesOf(siteId, hours, this.siteRules(siteId));
  }

  /** `rules`: the site's rules, to point at an existing rule rather than suggest a new one. */
  private async anomaliesOf(
    siteId: SiteId,
    hours: number,
    rules: Promise<SiteRule[]>,
  ): Promise<Anomalies> {
    const t = ANOMALY_THRESHOLDS;
    const to = this.clock.now().getTime();
    const from = to - hours * HOUR_MS;
    const previousFrom = from - hours * HOUR_MS;
    const c = { siteId, previousFromMs: previousFrom, fromMs: from, toMs: to };
    const [hourly, countries, bots, ips, siteRules] = await Promise.all([
      this.store.hourly(c),
      this.store.countries(c),
      this.store.newBotSignatures(c, t.bots.minRequests, TOP),
      this.store.newIps(c, t.ips.minRequests, t.ips.minDenied, TOP),
      rules,
    ]);
    const { recent: recentHours, previous: previousHours } = hourly;
    const { recent: recentCountries, previous: previousCountries } = countries;
    const recentTotal = recentHours.reduce((n, h) => n + h.requests, 0);
    const previousTotal = previousHours.reduce((n, h) => n + h.requests, 0);

    // Spikes: against every hour of the previous period, quiet ones counted as zero.
    const spikes: Anomalies['spikes'] = [];
    if (previousTotal > 0) {
      const mean = previousTotal / hours;
      const variance =
        (previousHours.reduce((n, h) => n + (h.requests - mean) ** 2, 0) +
          (hours - previousHours.length) * mean ** 2) /
        hours;
      const limit = Math.max(
        mean + t.spike.sigmas * Math.sqrt(variance),
        t.spike.minFactor * mean,
        t.spike.minRequests,
      );
      for (const h of recentHours) {
        if (h.requests > limit) {
          spikes.push({
            hour: new Date(h.hourMs).toISOString(),
            requests: h.requests,
            baselineMean: Math.round(mean * 10) / 10,
            factor: Math.round((h.requests / mean) * 10) / 10,
          });
        }
      }
      spikes.sort((a, b) => b.factor - a.factor || (a.hour < b.hour ? -1 : 1));
      spikes.splice(TOP);
    }

    // Geographic shifts: needs a previous period to compare with.
    const geoShifts: Anomalies['geoShifts'] = [];
    if (previousTotal > 0 && recentTotal > 0) {
      const before = new Map(previousCountries.map((r) => [r.country, r.requests / previousTotal]));
      for (const r of recentCountries) {
        const recentShare = r.requests / recentTotal;
        const previousShare = before.get(r.country) ?? 0;
        const risen =
          previousShare === 0
            ? recentShare >= t.geo.minNewShare
            : recentShare - previousShare >= t.geo.minShareRise;
        if (r.requests >= t.geo.minRequests && risen) {
          geoShifts.push({ country: r.country, requests: r.requests, recentShare, previousShare });
        }
      }
      geoShifts.splice(TOP);
    }

    const newBotSignatures = bots.map((b) => ({
      requests: b.requests,
      botCategory: b.botCategory as Anomalies['newBotSignatures'][number]['botCategory'],
      requestData: { userAgent: bounded(b.userAgent) },
    }));
    const ipSurges = ips.map((ip) => ({
      ...ip,
      networkType: ip.networkType as Anomalies['ipSurges'][number]['networkType'],
    }));

    const suggestedActions: Anomalies['suggestedActions'] = [];
    if (ipSurges[0]) {
      suggestedActions.push({
        tool: 'investigate-ip',
        arguments: { siteId, ip: ipSurges[0].ip },
        reason: 'INVESTIGATE_SURGING_IP',
      });
    }
    if (newBotSignatures[0]) {
      const category = newBotSignatures[0].botCategory;
      // A rule that already denies the category: a LIVE one blocks these bots (nothing to
      // suggest), a DRY_RUN one is promoted after a look at its impact, never duplicated.
      const existing = siteRules.filter((r) => r.type === 'bot' && botRuleDenies(r, category));
      const dryRun = existing.find((r) => r.mode === 'DRY_RUN');
      if (existing.length === 0) {
        suggestedActions.push({
          tool: 'create-rule',
          arguments: {
            siteId,
            rule: { name: `Deny ${category} bots`, type: 'bot', config: { deny: [category] } },
          },
          reason: 'DENY_NEW_BOT_CATEGORY_IN_DRY_RUN',
        });
      } else if (dryRun && !existing.some((r) => r.mode === 'LIVE')) {
        suggestedActions.push({
          tool: 'get-dry-run-impact',
          arguments: { siteId, ruleId: dryRun.id },
          reason: 'SEE_DRY_RUN_IMPACT',
        });
      }
    }
    if (spikes[0]) {
      suggestedActions.push({
        tool: 'list-decisions',
        arguments: {
          siteId,
          from: spikes[0].hour,
          to: new Date(Date.parse(spikes[0].hour) + HOUR_MS).toISOString(),
        },
        reason: 'SEE_SPIKE_TRAFFIC',
      });
    }
    const found = spikes.length + geoShifts.length + newBotSignatures.length + ipSurges.length;
    const length = span(hours, NOUNS.hour);
    const counts = `in the last ${length} (${counted(recentTotal, NOUNS.request)}, ${previousTotal} in the ${length} before)`;
    const summary =
      found === 0
        ? `Nothing unusual ${counts}.`
        : `${counted(spikes.length, NOUNS.spike)}, ${counted(geoShifts.length, NOUNS.geoShift)}, ${counted(newBotSignatures.length, NOUNS.botSignature)} and ${counted(ipSurges.length, NOUNS.ipSurge)} ${counts}.`;
    return {
      siteId,
      hours,
      recent: {
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        requests: recentTotal,
      },
      previous: {
        from: new Date(previousFrom).toISOString(),
        to: new Date(from).toISOString(),
        requests: previousTotal,
      },
      summary,
      spikes,
      geoShifts,
      newBotSignatures,
      ipSurges,
      suggestedActions,
    };
  }

  /**
   * The daily check-in in one call: rules, the last day's traffic, threats, anomalies, dry-run
   * readiness and quota, all gathered in parallel.
   */
  async briefing(actor: Actor, siteId: SiteId): Promise<SecurityBriefing> {
    // One access check for the whole briefing; its parts are computed without repeating it.
    const { site, team } = await this.access.requireSite(actor, siteId, 'read');
    const now = this.clock.now().getTime();
    const day = { siteId, fromMs: now - DAY_MS, toMs: now };
    const siteRules = this.siteRules(siteId);
    const [rules, traffic, networks, anomalies, dryRun, quota] = await Promise.all([
      siteRules,
      this.trafficOf(siteId, 1, { paths: false }),
      this.store.deniedNetworks(day, 5),
      this.anomaliesOf(siteId, 24, siteRules),
      this.impactPage(siteId, 7, undefined, 0, MAX_RULES_PER_SITE),
      this.quotaOf(site.teamId, team.plan),
    ]);
    const live = rules.filter((r) => r.mode === 'LIVE').length;
    const byType = RULE_TYPES.map((type) => ({
      type,
      live: rules.filter((r) => r.type === type && r.mode === 'LIVE').length,
      dryRun: rules.filter((r) => r.type === type && r.mode === 'DRY_RUN').length,
    })).filter((t) => t.live + t.dryRun > 0);
    const ready = dryRun.rules.filter((r) => r.verdict === 'READY').length;
    const found =
      anomalies.spikes.length +
      anomalies.geoShifts.length +
      anomalies.newBotSignatures.length +
      anomalies.ipSurges.length;
    const summary = [
      `${counted(live, LIVE_RULE)} and ${counted(rules.length - live, NOUNS.dryRunRule)}.`,
      traffic.summary,
      found === 0 ? `No anomalies in the last ${span(24, NOUNS.hour)}.` : anomalies.summary,
      dryRun.rules.length === 0
        ? 'No DRY_RUN rules to promote.'
        : `${ready} of ${counted(dryRun.rules.length, NOUNS.dryRunRule)} ${nounFor(ready, IS)} READY to promote.`,
      `Quota ${quota.status}: ${quota.used} of ${quota.monthlyRequestQuota} this month.`,
    ].join(' ');
    const suggestedActions: SecurityBriefing['suggestedActions'] = [];
    if (found > 0) {
      suggestedActions.push({
        tool: 'get-anomalies',
        arguments: { siteId, hours: 24 },
        reason: 'SEE_ANOMALIES',
      });
    }
    if (dryRun.rules.length > 0) {
      suggestedActions.push({
        tool: 'get-dry-run-impact',
        arguments: { siteId, days: 7 },
        reason: 'SEE_DRY_RUN_IMPACT',
      });
    }
    if (quota.status !== 'OK') {
      suggestedActions.push({
        tool: 'get-quota',
        arguments: { teamId: site.teamId },
        reason: 'SEE_QUOTA',
      });
    }
    suggestedActions.push(...traffic.suggestedActions.slice(0, 2));
    return {
      siteId,
      generatedAt: new Date(now).toISOString(),
      summary,
      rules: { live, dryRun: rules.length - live, byType },
      traffic: {
        requests: traffic.current.requests,
        denials: traffic.current.denials,
        denialRate: traffic.current.denialRate,
        requestsChangePct: traffic.change.requestsPct,
      },
      threats: {
        attackTypes: traffic.topDenialReasons,
        hostileNetworks: networks.map((n) => ({
          ...n,
          networkType:
            n.networkType as SecurityBriefing['threats']['hostileNetworks'][number]['networkType'],
        })),
      },
      anomalies: {
        summary: anomalies.summary,
        spikes: anomalies.spikes.length,
        geoShifts: anomalies.geoShifts.length,
        newBotSignatures: anomalies.newBotSignatures.length,
        ipSurges: anomalies.ipSurges.length,
        topSurgingIps: anomalies.ipSurges.slice(0, 3).map((i) => i.ip),
      },
      dryRun: dryRun.rules.map((r) => ({
        ruleId: r.ruleId,
        type: r.type,
        verdict: r.verdict,
        wouldDeny: r.wouldDeny,
        estimatedFalsePositiveShare: r.estimatedFalsePositiveShare,
      })),
      quota: {
        status: quota.status,
        used: quota.used,
        monthlyRequestQuota: quota.monthlyRequestQuota,
        projected: quota.projected,
      },
      suggestedActions,
    };
  }

  /** The team's decisions this calendar month (UTC) against its plan's quota. */
  async quota(actor: Actor, teamId: TeamId): Promise<QuotaStatus> {
    const { team } = await this.access.requireTeam(actor, teamId, 'read');
    return this.quotaOf(teamId, team.plan);
  }

  private async quotaOf(teamId: TeamId, plan: Plan): Promise<QuotaStatus> {
    const now = this.clock.now();
    const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const end = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
    const usage = await this.store.teamUsage(teamId, start, now.getTime() + 1, TOP);
    const quota = PLANS[plan].monthlyRequestQuota;
    const elapsed = Math.max(now.getTime() - start, 1) / (end - start);
    const projected = Math.round(usage.requests / elapsed);
    const usedShare = usage.requests / quota;
    const status = quotaStatus(usage.requests, quota, projected);
    const month = new Date(start).toISOString().slice(0, 7);
    const summary = `${usage.requests} of ${quota} decisions used in ${month} (${(usedShare * 100).toFixed(1)}%), about ${projected} by month end at this pace; status ${status}.`;
    const busiest = usage.bySite[0];
    return {
      teamId,
      plan,
      month,
      monthlyRequestQuota: quota,
      used: usage.requests,
      usedShare,
      projected,
      status,
      summary,
      bySite: usage.bySite,
      suggestedActions:
        status !== 'OK' && busiest
          ? [
              {
                tool: 'analyze-traffic',
                arguments: { siteId: busiest.siteId, days: 7 },
                reason: 'SEE_BUSIEST_SITE',
              },
            ]
          : [],
    };
  }

  /** Threat intelligence on an IP plus what it did on the site and across the team. */
  async investigateIp(
    actor: Actor,
    siteId: SiteId,
    ip: string,
    days: number,
  ): Promise<IpInvestigation> {
    const { site } = await this.access.requireSite(actor, siteId, 'read');
    const intel = this.intel.lookup(ip);
    if (!intel) {
      throw new ValidationError([{ field: 'ip', message: 'must be an IPv4 or IPv6 address' }]);
    }
    const to = this.clock.now().getTime();
    const from = to - days * DAY_MS;
    // Stored IPs are as the app sent them; look up the same text.
    const activity = await this.store.ipActivity(
      { siteId, fromMs: from, toMs: to },
      site.teamId,
      ip,
      5,
    );
    const { team } = activity;
    const where = [
      intel.asn === null ? 'no ASN' : `AS${intel.asn}`,
      intel.country ?? 'unknown country',
      intel.networkType,
      `risk ${intel.risk}`,
    ].join(', ');
    const summary = `${intel.ip} (${where}): ${counted(activity.requests, NOUNS.request)} on this site in the last ${span(days, NOUNS.day)}, ${activity.denials} denied; ${team.sites} of the team's sites saw it (${counted(team.requests, NOUNS.request)}).`;
    const suggestedActions: IpInvestigation['suggestedActions'] = [];
    if (activity.requests > 0) {
      suggestedActions.push({
        tool: 'list-decisions',
        arguments: { siteId, ip },
        reason: 'SEE_CLIENT_HISTORY',
      });
    }
    if (activity.denials > 0 || intel.risk === 'high') {
      // A filter rule that already denies every request of this IP is reviewed, not duplicated:
      // a LIVE one blocks it now (see the rule), a DRY_RUN one would once promoted.
      const blocking = (await this.siteRules(siteId)).filter((r) => filterBlocks(r, intel));
      const live = blocking.find((r) => r.mode === 'LIVE');
      const dryRun = blocking.find((r) => r.mode === 'DRY_RUN');
      if (live) {
        suggestedActions.push({
          tool: 'get-rule',
          arguments: { ruleId: live.id },
          reason: 'INSPECT_DECIDING_RULE',
        });
      } else if (dryRun) {
        suggestedActions.push({
          tool: 'get-dry-run-impact',
          arguments: { siteId, ruleId: dryRun.id },
          reason: 'SEE_DRY_RUN_IMPACT',
        });
      } else {
        suggestedActions.push({
          tool: 'create-rule',
          arguments: {
            siteId,
            rule: {
              name: `Block ${intel.ip}`,
              type: 'filter',
              config: { action: 'deny', match: { ips: [intel.ip] } },
            },
          },
          reason: 'BLOCK_CLIENT_IN_DRY_RUN',
        });
      }
    }
    return {
      siteId,
      ip: intel.ip,
      days,
      summary,
      intel: {
        country: intel.country,
        asn: intel.asn,
        asOrg: intel.asOrg,
        networkType: intel.networkType,
        risk: intel.risk,
        riskReasons: intel.riskReasons,
      },
      activity: {
        requests: activity.requests,
        denials: activity.denials,
        firstSeen:
          activity.firstSeenMs === null ? null : new Date(activity.firstSeenMs).toISOString(),
        lastSeen: activity.lastSeenMs === null ? null : new Date(activity.lastSeenMs).toISOString(),
        topPaths: activity.topPaths.map((p) => ({
          count: p.count,
          requestData: { path: bounded(p.path) },
        })),
        rulesTriggered: activity.rulesTriggered,
      },
      acrossTeam: team,
      suggestedActions,
    };
  }

  /** Traffic over the last `days` days against the `days` before them. */
  async traffic(actor: Actor, siteId: SiteId, days: number): Promise<TrafficAnalysis> {
    await this.access.requireSite(actor, siteId, 'read');
    return this.trafficOf(siteId, days);
  }

  /** `paths: false` skips the top paths, which the briefing does not show. */
  private async trafficOf(
    siteId: SiteId,
    days: number,
    { paths } = { paths: true },
  ): Promise<TrafficAnalysis> {
    const to = this.clock.now().getTime();
    const from = to - days * DAY_MS;
    const before = from - days * DAY_MS;
    const now = await this.store.trafficSummary(
      { siteId, previousFromMs: before, fromMs: from, toMs: to },
      { paths: paths ? TOP : 0, ips: TOP, reasons: TOP },
    );
    const then = now.previous;
    const current = period(from, to, now);
    const previous = period(before, from, then);
    const change = {
      requestsPct: percentChange(then.requests, now.requests),
      denialsPct: percentChange(then.denials, now.denials),
    };
    const length = span(days, NOUNS.day);
    const trend =
      then.requests === 0
        ? `no requests in the ${length} before to compare with`
        : change.requestsPct === null
          ? `too few requests in the ${length} before to compare (${then.requests}, fewer than ${MIN_BASELINE})`
          : `requests ${change.requestsPct >= 0 ? 'up' : 'down'} ${Math.abs(change.requestsPct)}% on the ${length} before`;
    const summary = `${counted(now.requests, NOUNS.request)} in the last ${length}, ${now.denials} denied (${(current.denialRate * 100).toFixed(1)}%); ${trend}.`;

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

/** EXCEEDED past the quota; WARNING past 80 % of it or on pace to pass it; OK otherwise. */
export function quotaStatus(used: number, quota: number, projected: number): QuotaStatus['status'] {
  if (used > quota) return 'EXCEEDED';
  return used > 0.8 * quota || projected > quota ? 'WARNING' : 'OK';
}

/**
 * The impact and readiness of one DRY_RUN rule. `falsePositiveShare` replaces the network
 * heuristic (impact.likelyLegitimate) for rules that judge something else: email rules, whose
 * `impact.evaluated` counts only the requests that carried an email (DryRunWindow.emailOnly).
 */
export function ruleImpact(
  rule: Pick<RuleEntity, 'id' | 'type'>,
  since: number,
  impact: DryRunImpact,
  falsePositiveShare?: number,
) {
  const t = READINESS_THRESHOLDS;
  const rate = impact.evaluated === 0 ? 0 : impact.wouldDeny / impact.evaluated;
  const fpShare =
    impact.wouldDeny === 0 ? 0 : (falsePositiveShare ?? impact.likelyLegitimate / impact.wouldDeny);
  const reasons: ReadinessReason[] = [];
  let verdict: Readiness = 'READY';
  const worse = (v: Readiness, reason: ReadinessReason) => {
    reasons.push(reason);
    if (READINESS.indexOf(v) > READINESS.indexOf(verdict)) verdict = v;
  };
  if (impact.evaluated < t.minEvaluated) worse('REVIEW', 'INSUFFICIENT_TRAFFIC');
  if (impact.wouldDeny === 0) {
    reasons.push('NO_ALLOWED_REQUEST_WOULD_BE_DENIED');
  } else {
    if (fpShare > t.notReady.falsePositiveShare) worse('NOT_READY', 'HIGH_FALSE_POSITIVE_SHARE');
    else if (fpShare > t.review.falsePositiveShare) worse('REVIEW', 'SOME_FALSE_POSITIVES_LIKELY');
    if (rate > t.notReady.denyRate) worse('NOT_READY', 'HIGH_DENY_RATE');
    else if (rate > t.review.denyRate) worse('REVIEW', 'NOTABLE_DENY_RATE');
    if (reasons.length === 0) reasons.push('LOW_FALSE_POSITIVE_SHARE');
  }
  const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
  const sinceIso = new Date(since).toISOString();
  const outOf =
    rule.type === 'email' ? counted(impact.evaluated, EMAIL_REQUEST) : `${impact.evaluated}`;
  return {
    ruleId: rule.id,
    type: rule.type,
    since: sinceIso,
    summary: `${rule.id} (${rule.type}) would have denied ${counted(impact.wouldDeny, ALLOWED_REQUEST)} out of ${outOf} (${pct(rate)}) since ${sinceIso}; an estimated ${pct(fpShare)} of them look like real users; verdict ${verdict} (${reasons.join(', ')}).`,
    evaluated: impact.evaluated,
    wouldDeny: impact.wouldDeny,
    wouldDenyRate: rate,
    alsoDeniedLive: impact.alsoDeniedLive,
    estimatedFalsePositiveShare: fpShare,
    verdict,
    reasons,
    topIps: impact.topIps.map((ip) => ({
      ...ip,
      networkType:
        ip.networkType as DryRunImpactAnalysis['rules'][number]['topIps'][number]['networkType'],
    })),
    topPaths: impact.topPaths.map((p) => ({
      count: p.count,
      requestData: { path: bounded(p.path) },
    })),
  };
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

/** Whole percent change from `before` to `after`; null below MIN_BASELINE: too few to compare. */
function percentChange(before: number, after: number): number | null {
  return before < MIN_BASELINE ? null : Math.round(((after - before) / before) * 100);
}

/** Whether a bot rule denies the category (allow wins over deny, as in the engine). */
function botRuleDenies(rule: SiteRule, category: string): boolean {
  const config = RULE_CONFIG_SCHEMAS.bot.safeParse(rule.config);
  if (!config.success) return false;
  const is = (c: string) => c === category;
  return config.data.deny.some(is) && !config.data.allow.some(is);
}

/**
 * Whether a filter rule denies every request from the IP: it denies the IP's network facts and
 * has no path or method condition that would let some of its requests through.
 */
function filterBlocks(rule: SiteRule, intel: IpIntel): boolean {
  if (rule.type !== 'filter') return false;
  const config = RULE_CONFIG_SCHEMAS.filter.safeParse(rule.config);
  if (!config.success) return false;
  const { pathPrefixes, methods } = config.data.match;
  if (pathPrefixes?.length || methods?.length) return false;
  const verdict = new FilterRule(config.data).evaluate(
    {
      ip: intel.ip,
      method: 'GET',
      protocol: 'HTTP/1.1',
      host: '',
      path: '/',
      query: '',
      headers: {},
      characteristics: {},
    },
    { ...intel, botCategory: null, userAgent: '' },
  );
  return verdict.conclusion === 'DENY';
}
