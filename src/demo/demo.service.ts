import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DecisionWriter } from '../analytics/decision-writer';
import { Actor } from '../auth/actor';
import { Clock, SimulatedClock } from '../common/clock';
import { parseRuleId, parseSiteId, parseTeamId } from '../common/ids';
import { DecideInput } from '../decisions/decide.schemas';
import { DecideService } from '../decisions/decide.service';
import { SiteDirectory } from '../decisions/site-directory';
import { CreateRuleInput } from '../rules/rules.schemas';
import { RulesService } from '../rules/rules.service';
import { SitesService } from '../sites/sites.service';
import { TeamsService } from '../teams/teams.service';
import { demoPeriodStart, demoTraffic } from './demo-traffic';

export interface DemoOptions {
  /** OAuth subject that owns the demo team. */
  owner: string;
  decisions: number;
  days: number;
}

export interface DemoResult {
  teamId: string;
  siteId: string;
  siteKey: string;
  decisions: number;
  denied: number;
}

const HOUR = 3_600_000;

/** Timestamps the services write with each view; audit snapshots carry them too. */
const SNAPSHOT_TIMES = ['createdAt', 'updatedAt', 'keyRotatedAt'];

/** The demo site's rules: some enforced, some measured first, as a real team would run them. */
const DEMO_RULES: (CreateRuleInput & { live: boolean })[] = [
  {
    name: 'Block attacks',
    type: 'shield',
    config: { detect: ['sql_injection', 'xss', 'path_traversal', 'command_injection', 'scanner'] },
    live: true,
  },
  {
    name: 'No Tor',
    type: 'filter',
    config: { action: 'deny', match: { networkTypes: ['tor'] } },
    live: true,
  },
  {
    name: 'Login attempts',
    type: 'rate_limit',
    config: {
      algorithm: 'sliding_window',
      max: 5,
      intervalSeconds: 300,
      characteristic: 'ip',
      paths: ['/login'],
    },
    live: true,
  },
  {
    name: 'Scrapers and scripts',
    type: 'bot',
    config: {
      deny: ['scraper', 'http_client', 'headless_browser', 'unknown_bot'],
      allow: ['search_engine'],
      denyEmptyUserAgent: true,
    },
    live: false,
  },
  { name: 'Throw-away sign-ups', type: 'email', config: { deny: ['disposable'] }, live: false },
];

/**
 * Creates a demo team, site and rules and runs `decisions` requests of realistic traffic over
 * the last `days` days through the real decide path (validation, intel, rules, analytics
 * writer), with a simulated clock so that each decision carries its historical time.
 */
@Injectable()
export class DemoService {
  constructor(
    private readonly teams: TeamsService,
    private readonly sites: SitesService,
    private readonly rules: RulesService,
    private readonly directory: SiteDirectory,
    private readonly decide: DecideService,
    private readonly writer: DecisionWriter,
    private readonly clock: Clock,
    private readonly dataSource: DataSource,
  ) {}

  async seed(
    options: DemoOptions,
    onProgress: (done: number, total: number) => void = () => undefined,
  ): Promise<DemoResult> {
    if (!(this.clock instanceof SimulatedClock)) {
      throw new Error('The demo generator needs the application built with a SimulatedClock.');
    }
    const clock = this.clock;
    const actor: Actor = { subject: options.owner, scopes: ['bulwark:write'], via: 'cli' };
    const now = Date.now();
    const team = await this.teams.create(actor, { name: 'Demo Shop Inc.' });
    const site = await this.sites.create(actor, parseTeamId(team.id), {
      name: 'Demo shop',
      domain: 'shop.example.com',
    });
    for (const { live, ...rule } of DEMO_RULES) {
      const created = await this.rules.create(actor, parseSiteId(site.id), rule);
      if (live) await this.rules.promote(actor, parseRuleId(created.id));
    }
    const start = demoPeriodStart(now, options.days);
    await this.backdate(team.id, site.id, new Date(start - 2 * HOUR), new Date(start - HOUR));
    const ref = await this.directory.resolveKey(site.key);
    if (!ref) throw new Error('The demo site key does not resolve');
    let done = 0;
    let denied = 0;
    for (const request of demoTraffic({ now, days: options.days, decisions: options.decisions })) {
      clock.set(request.timeMs);
      const answer = await this.decide.decide(ref, DecideInput.parse(request.input));
      if (answer.conclusion === 'DENY') denied++;
      if (++done % 5000 === 0) {
        // Backpressure: the writer's queue is bounded, and the demo should not spill.
        await this.writer.flush();
        onProgress(done, options.decisions);
      }
    }
    await this.writer.flush();
    onProgress(done, done);
    return { teamId: team.id, siteId: site.id, siteKey: site.key, decisions: done, denied };
  }

  /**
   * Dates the set-up back to before the traffic, as if the team had run the site all along: team
   * and site at `siteTime`, then the rules at `rulesTime` (so the dry-run impact of the DRY_RUN
   * rules covers the whole period), then the first request. The audit trail and the resource
   * snapshots in it move with them, so every tool tells the same story of what came first.
   */
  private async backdate(
    teamId: string,
    siteId: string,
    siteTime: Date,
    rulesTime: Date,
  ): Promise<void> {
    await this.dataSource.transaction(async (tx) => {
      const at = (table: string, where: string, id: string, time: Date, extra = '') =>
        tx.query(
          `UPDATE ${table} SET created_at = $1, updated_at = $1${extra} WHERE ${where} = $2`,
          [time, id],
        );
      await at('teams', 'id', teamId, siteTime);
      await at('memberships', 'team_id', teamId, siteTime);
      await at('sites', 'id', siteId, siteTime, ', key_rotated_at = $1');
      await at('rules', 'site_id', siteId, rulesTime);
      for (const [time, rules] of [
        [siteTime, false],
        [rulesTime, true],
      ] as const) {
        const snapshot = (column: string) =>
          `CASE WHEN ${column} IS NULL THEN NULL ELSE (
             SELECT jsonb_object_agg(key, CASE WHEN key = ANY($3::text[]) THEN to_jsonb($2::text) ELSE value END)
             FROM jsonb_each(${column})) END`;
        await tx.query(
          `UPDATE audit_entries
              SET created_at = $1, before = ${snapshot('before')}, after = ${snapshot('after')}
            WHERE team_id = $4 AND (resource_type = 'rule') = $5`,
          [time, time.toISOString(), SNAPSHOT_TIMES, teamId, rules],
        );
      }
    });
  }
}
