import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { compileRules, CompiledRule } from '../rules/engine/engine';
import { CounterStore } from '../rules/engine/rate-limit';
import { RuleEntity } from '../rules/rule.entity';
import { hashSiteKey, sameKeyHash } from '../sites/site-keys';
import { SiteChanges } from './site-changes';

export interface SiteRef {
  siteId: string;
  teamId: string;
  /** `sites.rules_version` when the key was checked. */
  version: string;
}

/** Unknown keys are remembered briefly so a flood of bad keys does not become a flood of queries. */
const UNKNOWN_KEY_MS = 5_000;
const MAX_ENTRIES = 50_000;

interface KeyRow {
  id: string;
  team_id: string;
  key_hash: string;
  rules_version: string;
}

/**
 * The decide path's view of sites: site key -> site, and site -> compiled rules.
 *
 * Compiled rules are cached per site and version. How the version is known depends on who else
 * can change the database:
 * - shared PostgreSQL (DATABASE_URL; any number of instances): the key is looked up on every
 *   decision, one indexed read that also returns the site's `rules_version`. A rotated key fails
 *   and a rule change is seen on the very next decision, whichever instance made it.
 * - embedded PGlite (one process): keys are cached too, and SiteChanges drops a site's entries
 *   right after a change commits, so no query is needed at all on the hot path.
 */
@Injectable()
export class SiteDirectory {
  private readonly shared: boolean;
  private readonly keys = new Map<string, { site: SiteRef | null; expires: number }>();
  private readonly keyOfSite = new Map<string, string>();
  private readonly rules = new Map<string, { version: string; rules: CompiledRule[] }>();
  /** Bumped by every local change; a load that overlapped one is not cached. */
  private generation = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly counters: CounterStore,
    private readonly clock: Clock,
    changes: SiteChanges,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.shared = config.databaseUrl !== undefined;
    changes.subscribe((siteIds) => this.forget(siteIds));
  }

  /** The site a key belongs to, or null for an unknown or rotated key. */
  async resolveKey(key: string): Promise<SiteRef | null> {
    const hash = hashSiteKey(key);
    const cached = this.keys.get(hash);
    if (cached && (cached.site ? !this.shared : cached.expires > Date.now())) return cached.site;
    const generation = this.generation;
    const rows = await this.dataSource.query<KeyRow[]>(
      'SELECT id, team_id, key_hash, rules_version FROM sites WHERE key_hash = $1',
      [hash],
    );
    const row = rows[0];
    // The hash served as an index key; the comparison that grants access is constant-time.
    const site =
      row && sameKeyHash(row.key_hash, hash)
        ? { siteId: row.id, teamId: row.team_id, version: String(row.rules_version) }
        : null;
    if (generation === this.generation && (site === null || !this.shared)) {
      this.remember(hash, site);
    }
    return site;
  }

  /** The site's rules, compiled and in decision order, as of the version its key lookup saw. */
  async rulesFor(site: SiteRef): Promise<CompiledRule[]> {
    const cached = this.rules.get(site.siteId);
    if (cached && cached.version === site.version) return cached.rules;
    const generation = this.generation;
    const rows = await this.dataSource
      .getRepository(RuleEntity)
      .find({ where: { siteId: site.siteId as RuleEntity['siteId'] } });
    // Rate limits read the same clock as decisions, so simulated (demo) traffic counts right.
    const rules = compileRules(rows, {
      counters: this.counters,
      now: () => this.clock.now().getTime(),
    });
    // Rules read after the version can only be newer than it, never older: safe to cache.
    if (generation === this.generation) {
      if (this.rules.size >= MAX_ENTRIES) this.rules.clear();
      this.rules.set(site.siteId, { version: site.version, rules });
    }
    return rules;
  }

  private forget(siteIds: readonly string[]): void {
    this.generation++;
    for (const siteId of siteIds) {
      this.rules.delete(siteId);
      const hash = this.keyOfSite.get(siteId);
      if (hash) this.keys.delete(hash);
      this.keyOfSite.delete(siteId);
    }
  }

  private remember(hash: string, site: SiteRef | null): void {
    if (this.keys.size >= MAX_ENTRIES) {
      this.keys.clear();
      this.keyOfSite.clear();
    }
    this.keys.set(hash, { site, expires: Date.now() + UNKNOWN_KEY_MS });
    if (site) this.keyOfSite.set(site.siteId, hash);
  }
}
