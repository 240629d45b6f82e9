import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/** Called with the ids of sites whose rules or key changed. */
export type SiteChangeListener = (siteIds: readonly string[]) => void;

/**
 * Makes a change to a site's rules or key visible to the decide path at once.
 *
 * Changes run in `transaction()`. Every site the work marks `changed` gets its `rules_version`
 * bumped in that same transaction, which is how other instances on a shared database notice:
 * they read the version with the key on every decision. This instance also drops its own cached
 * copy right after the commit, which is all an embedded (single-process) deployment needs.
 *
 * (LISTEN/NOTIFY was tried first and measured unfit: PostgreSQL delivers notifications to other
 * sessions asynchronously, after the committing client already has its answer, so a decision
 * right after a change could still see the old rules.)
 */
@Injectable()
export class SiteChanges {
  private readonly listeners = new Set<SiteChangeListener>();

  constructor(private readonly dataSource: DataSource) {}

  subscribe(listener: SiteChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs `work` in a transaction; sites it marks with `changed` are announced when it commits. */
  async transaction<T>(
    work: (tx: EntityManager, changed: (...siteIds: string[]) => void) => Promise<T>,
  ): Promise<T> {
    const changed = new Set<string>();
    const result = await this.dataSource.transaction(async (tx) => {
      const value = await work(tx, (...ids) => ids.forEach((id) => changed.add(id)));
      if (changed.size > 0) {
        await tx.query('UPDATE sites SET rules_version = rules_version + 1 WHERE id = ANY($1)', [
          [...changed],
        ]);
      }
      return value;
    });
    if (changed.size > 0) for (const listener of this.listeners) listener([...changed]);
    return result;
  }
}
