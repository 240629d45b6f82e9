import type { Conclusion, DecisionReason } from '../rules/engine/types';
import type { ResultType, RuleMode } from '../rules/rules.schemas';

/** One rule's part in a decision, as stored and as returned by the decide API. */
export interface RuleResult {
  ruleId: string;
  type: ResultType;
  mode: RuleMode;
  conclusion: Conclusion;
  reason: DecisionReason;
}

/**
 * One decision as the analytics store keeps it. Request-derived strings (host, path, query,
 * userAgent, headers, email) are attacker-controlled: stores keep them as plain data and
 * readers must present them as untrusted.
 */
export interface DecisionRecord {
  /** `req_` TypeID; unique: writing the same id twice stores it once. */
  id: string;
  siteId: string;
  teamId: string;
  /** Milliseconds since the epoch. */
  timeMs: number;
  ip: string;
  method: string;
  protocol: string;
  host: string;
  path: string;
  query: string;
  userAgent: string;
  /** A bounded subset of request headers, names in lower case. */
  headers: Record<string, string>;
  email: string | null;
  country: string | null;
  asn: number | null;
  asOrg: string | null;
  networkType: string;
  botCategory: string | null;
  conclusion: Conclusion;
  reason: DecisionReason;
  /** The LIVE rule that denied the request; null when allowed. */
  ruleId: string | null;
  results: RuleResult[];
  /** DRY_RUN rules that would have denied the request. */
  dryRunDenials: string[];
}

export interface DecisionFilter {
  siteId: string;
  conclusion?: Conclusion;
  ip?: string;
  pathPrefix?: string;
  /** Decisions this rule decided (LIVE) or would have denied (DRY_RUN). */
  ruleId?: string;
  /** Inclusive lower bound, ms. */
  fromMs?: number;
  /** Exclusive upper bound, ms. */
  toMs?: number;
  /** Only decisions with an id before this one (ids sort by time): keyset pagination, newest first. */
  beforeId?: string;
  limit: number;
}

/** A site and a half-open time range [fromMs, toMs), for analyses. */
export interface SiteRange {
  siteId: string;
  fromMs: number;
  toMs: number;
}

export interface TrafficTotals {
  requests: number;
  denials: number;
}

/** How many of each top list a traffic summary holds. */
export interface TrafficTop {
  paths: number;
  ips: number;
  reasons: number;
}

/** Traffic of one site over a range; every list sorted by count descending, then by value. */
export interface TrafficSummary extends TrafficTotals {
  /** Totals of the previous range. */
  previous: TrafficTotals;
  topPaths: { path: string; requests: number; denials: number }[];
  topIps: {
    ip: string;
    requests: number;
    denials: number;
    country: string | null;
    asn: number | null;
    networkType: string;
  }[];
  topDenialReasons: { reason: string; count: number }[];
}

/** What a DRY_RUN rule would have done over a range, from the decisions it was recorded in. */
export interface DryRunImpact {
  /** Decisions of the site in the range; only those with an email for an `emailOnly` window. */
  evaluated: number;
  /** Allowed (no LIVE rule denied) but this rule would have denied: what promoting changes. */
  wouldDeny: number;
  /** Would have denied, and a LIVE rule denied anyway. */
  alsoDeniedLive: number;
  /**
   * Of wouldDeny: requests that look like real users: a residential network, no bot user agent,
   * and an IP that no LIVE rule denied anywhere in the range.
   */
  likelyLegitimate: number;
  topIps: { ip: string; count: number; country: string | null; networkType: string }[];
  topPaths: { path: string; count: number }[];
}

/** A DRY_RUN rule and where its measured window starts (ms): its creation or the window's start. */
export interface DryRunWindow {
  ruleId: string;
  fromMs: number;
  /**
   * Count as evaluated only the decisions that carried an email (an empty one counts as none, as
   * both stores read it back). Set for email rules: without an email they have nothing to judge
   * and allow, so counting those requests would dilute the deny rate and hide thin traffic.
   */
  emailOnly?: boolean;
}

/** One client IP's activity on a site over a range. */
export interface IpActivity extends TrafficTotals {
  /** ms; null when the IP was not seen. */
  firstSeenMs: number | null;
  lastSeenMs: number | null;
  topPaths: { path: string; count: number }[];
  /** Rules that denied it (LIVE) or would have (DRY_RUN), most often first. */
  rulesTriggered: { ruleId: string; mode: 'LIVE' | 'DRY_RUN'; count: number }[];
  /** The IP across all of the team's sites in the same range: what Bulwark has seen of it. */
  team: TrafficTotals & { sites: number };
}

/** The recent range of an anomaly search and the equal range before it. */
export interface Comparison {
  siteId: string;
  /** Start of the previous range; it ends where the recent one starts. */
  previousFromMs: number;
  fromMs: number;
  toMs: number;
}

/** The length of the UTC hours that hourly counts (and ClickHouse's hourly rollup) bucket by. */
export const HOUR_MS = 3_600_000;

export interface HourCount {
  hourMs: number;
  requests: number;
  denials: number;
}

export interface CountryCount {
  country: string | null;
  requests: number;
}

export interface NewBotSignature {
  userAgent: string;
  botCategory: string;
  requests: number;
}

export interface NewIp {
  ip: string;
  requests: number;
  denials: number;
  country: string | null;
  networkType: string;
}

/**
 * The analytics store: every decision lands here, every analysis reads from here. Two adapters
 * (DuckDB embedded, ClickHouse in production) pass one contract suite, so the SQL inside each is
 * an implementation detail and the answers are the same.
 */
export abstract class AnalyticsStore {
  /** Short name for logs and metrics: `duckdb` or `clickhouse`. */
  abstract readonly kind: string;
  /** Creates or migrates the schema. Idempotent. */
  abstract migrate(): Promise<void>;
  /**
   * Stores the batch. Idempotent by decision id: ids already stored are skipped, so a batch whose
   * first attempt failed half-way (or timed out after the store committed) can be sent again.
   */
  abstract insertDecisions(batch: readonly DecisionRecord[]): Promise<void>;
  /** Newest first. */
  abstract listDecisions(filter: DecisionFilter): Promise<DecisionRecord[]>;
  abstract getDecision(id: string): Promise<DecisionRecord | null>;
  /** How many of the given ids are stored, counting each id once: for loss and duplicate checks. */
  abstract countByIds(ids: readonly string[]): Promise<{ distinct: number; rows: number }>;
  /**
   * The recent range of `c`: totals plus its `top` paths, IPs and denial reasons (a list with a
   * limit of 0 is not queried); and the previous range's totals, for the trend. Totals and
   * reasons come from one pass over both.
   */
  abstract trafficSummary(c: Comparison, top: TrafficTop): Promise<TrafficSummary>;
  /**
   * The impact of promoting each of a site's DRY_RUN `rules`, each over its own window
   * [fromMs, toMs), with its `limit` most affected IPs and paths (none when `limit` is 0); in the
   * order given. One pass for all the rules of a page, not one per rule: the window's count and
   * the IPs that LIVE rules denied are shared.
   */
  abstract dryRunImpacts(
    siteId: string,
    toMs: number,
    rules: readonly DryRunWindow[],
    limit: number,
  ): Promise<DryRunImpact[]>;
  /**
   * What `ip` did on the site in the range, with its `limit` top paths and rules, and its totals
   * across the site's team `teamId` in the same range.
   */
  abstract ipActivity(
    range: SiteRange,
    teamId: string,
    ip: string,
    limit: number,
  ): Promise<IpActivity>;
  /** Decisions of a team's sites in [fromMs, toMs), in all and for its `limit` busiest sites. */
  abstract teamUsage(
    teamId: string,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<{ requests: number; bySite: { siteId: string; requests: number }[] }>;
  /**
   * Requests and denials per UTC hour (start ms) in each range of `c`, hours without requests
   * left out, oldest first; the hour that straddles the two ranges counts in each for its part.
   * One pass over both ranges.
   */
  abstract hourly(c: Comparison): Promise<Record<'recent' | 'previous', HourCount[]>>;
  /**
   * Requests per country (null for unknown) in each range of `c`, most first, ties by country,
   * unknown last. One pass over both ranges.
   */
  abstract countries(c: Comparison): Promise<Record<'recent' | 'previous', CountryCount[]>>;
  /**
   * Bot user agents of the recent range that the previous range never saw, with at least
   * `minRequests` requests, most first.
   */
  abstract newBotSignatures(
    c: Comparison,
    minRequests: number,
    limit: number,
  ): Promise<NewBotSignature[]>;
  /**
   * IPs of the recent range that the previous range never saw, with at least `minRequests`
   * requests, or at least `minDenied` requests of which half or more were denied; most first.
   */
  abstract newIps(
    c: Comparison,
    minRequests: number,
    minDenied: number,
    limit: number,
  ): Promise<NewIp[]>;
  /** Networks (ASNs) that LIVE rules denied most in the range, ties by ASN; unknown ASN included. */
  abstract deniedNetworks(
    range: SiteRange,
    limit: number,
  ): Promise<{ asn: number | null; asOrg: string | null; networkType: string; denials: number }[]>;
  /** Cheap liveness probe. */
  abstract ping(): Promise<boolean>;
  abstract close(): Promise<void>;
}

/** LIVE and DRY_RUN rule counts of one client, most frequent first, ties by id, at most `limit`. */
export function mergeRules(
  live: readonly { rule: string; count: number | bigint | string }[],
  dry: readonly { rule: string; count: number | bigint | string }[],
  limit: number,
): IpActivity['rulesTriggered'] {
  return [
    ...live.map((r) => ({ ruleId: r.rule, mode: 'LIVE' as const, count: Number(r.count) })),
    ...dry.map((r) => ({ ruleId: r.rule, mode: 'DRY_RUN' as const, count: Number(r.count) })),
  ]
    .sort((a, b) => b.count - a.count || (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0))
    .slice(0, limit);
}
