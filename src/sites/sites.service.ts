import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { AuditService } from '../audit/audit.service';
import { SiteChanges } from '../decisions/site-changes';
import { Clock } from '../common/clock';
import { newId, SiteId, TeamId } from '../common/ids';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { generateSiteKey, hashSiteKey, SiteKeyCipher } from './site-keys';
import { SiteEntity } from './site.entity';
import {
  CreatedSiteView,
  CreateSiteInput,
  SiteKeyView,
  SiteView,
  UpdateSiteInput,
} from './sites.schemas';

@Injectable()
export class SitesService {
  private readonly views = new WeakMap<readonly SiteEntity[], Page<SiteView>>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly cipher: SiteKeyCipher,
    private readonly clock: Clock,
    private readonly changes: SiteChanges,
  ) {}

  /** Creates a site with a new site key, returned here once; key managers can read it later. */
  async create(actor: Actor, teamId: TeamId, input: CreateSiteInput): Promise<CreatedSiteView> {
    return this.dataSource.transaction(async (tx) => {
      await this.access.requireTeam(actor, teamId, 'sites:write', tx);
      const key = generateSiteKey();
      const id = newId('site');
      await tx.insert(SiteEntity, {
        id,
        teamId,
        name: input.name,
        domain: input.domain,
        ...this.keyColumns(key),
      });
      const view = toSiteView(await tx.findOneByOrFail(SiteEntity, { id }));
      await this.audit.record(tx, actor, {
        teamId,
        action: 'site.created',
        resourceType: 'site',
        resourceId: id,
        after: view,
      });
      return { ...view, key };
    });
  }

  /** A page of the team's sites, read with the access check (agents call it often). */
  async list(actor: Actor, teamId: TeamId, page: PageQuery): Promise<Page<SiteView>> {
    const { rows } = await this.access.requireTeamListing(actor, teamId, 'read', {
      entity: SiteEntity,
      teamProperty: 'teamId',
      after: decodeCursor(page.cursor, 'site'),
      take: page.limit + 1,
    });
    // Cached rows are shared and never change: so is their view, built once.
    let view = this.views.get(rows);
    if (!view) {
      view = toPage(rows, page.limit, toSiteView);
      if (Object.isFrozen(rows)) {
        view.items.forEach((item) => Object.freeze(item));
        Object.freeze(view.items);
        this.views.set(rows, Object.freeze(view));
      }
    }
    return view;
  }

  async get(actor: Actor, siteId: SiteId): Promise<SiteView> {
    const { site } = await this.access.requireSite(actor, siteId, 'read');
    return toSiteView(site);
  }

  async update(actor: Actor, siteId: SiteId, input: UpdateSiteInput): Promise<SiteView> {
    return this.dataSource.transaction(async (tx) => {
      const { site } = await this.access.requireSite(actor, siteId, 'sites:write', tx);
      const before = toSiteView(site);
      await tx.update(SiteEntity, { id: siteId }, input);
      const view = toSiteView(await tx.findOneByOrFail(SiteEntity, { id: siteId }));
      await this.audit.record(tx, actor, {
        teamId: site.teamId,
        action: 'site.updated',
        resourceType: 'site',
        resourceId: siteId,
        before,
        after: view,
      });
      return view;
    });
  }

  /** Deletes the site and its rules; its key stops working at once. */
  async delete(actor: Actor, siteId: SiteId): Promise<void> {
    await this.changes.transaction(async (tx, changed) => {
      const { site } = await this.access.requireSite(actor, siteId, 'sites:write', tx);
      changed(siteId);
      await tx.delete(SiteEntity, { id: siteId });
      await this.audit.record(tx, actor, {
        teamId: site.teamId,
        action: 'site.deleted',
        resourceType: 'site',
        resourceId: siteId,
        before: toSiteView(site),
      });
    });
  }

  /** Reveals the current site key to a key manager; every read is written to the audit trail. */
  async readKey(actor: Actor, siteId: SiteId): Promise<SiteKeyView> {
    return this.dataSource.transaction(async (tx) => {
      const { site } = await this.access.requireSite(actor, siteId, 'site-keys:manage', tx);
      await this.audit.record(tx, actor, {
        teamId: site.teamId,
        action: 'site.key.read',
        resourceType: 'site',
        resourceId: siteId,
      });
      return {
        siteId,
        key: this.cipher.decrypt(site.keyCiphertext),
        keyRotatedAt: site.keyRotatedAt.toISOString(),
      };
    });
  }

  /** Replaces the site key; the old key is refused from the next decide call on. */
  async rotateKey(actor: Actor, siteId: SiteId): Promise<SiteKeyView> {
    return this.changes.transaction(async (tx, changed) => {
      const { site } = await this.access.requireSite(actor, siteId, 'site-keys:manage', tx);
      changed(siteId);
      const key = generateSiteKey();
      await tx.update(SiteEntity, { id: siteId }, this.keyColumns(key));
      const saved = await tx.findOneByOrFail(SiteEntity, { id: siteId });
      await this.audit.record(tx, actor, {
        teamId: site.teamId,
        action: 'site.key.rotated',
        resourceType: 'site',
        resourceId: siteId,
        before: { keyHint: site.keyLast4, keyRotatedAt: site.keyRotatedAt.toISOString() },
        after: { keyHint: saved.keyLast4, keyRotatedAt: saved.keyRotatedAt.toISOString() },
      });
      return { siteId, key, keyRotatedAt: saved.keyRotatedAt.toISOString() };
    });
  }

  private keyColumns(key: string) {
    return {
      keyHash: hashSiteKey(key),
      keyCiphertext: this.cipher.encrypt(key),
      keyLast4: key.slice(-4),
      keyRotatedAt: this.clock.now(),
    };
  }
}

export function toSiteView(site: SiteEntity): SiteView {
  return {
    id: site.id,
    teamId: site.teamId,
    name: site.name,
    domain: site.domain,
    keyHint: site.keyLast4,
    keyRotatedAt: site.keyRotatedAt.toISOString(),
    createdAt: site.createdAt.toISOString(),
    updatedAt: site.updatedAt.toISOString(),
  };
}
