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
import { demoTraffic } from './demo-traffic';

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
    // Dated back to the start of the demo period, as if they had been there all along, so the
    // dry-run impact of the DRY_RUN rules covers the whole period.
    await this.dataSource.query(
      'UPDATE rules SET created_at = $1, updated_at = $1 WHERE site_id = $2',
      [new Date(now - options.days * 86_400_000), site.id],
    );
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
}
