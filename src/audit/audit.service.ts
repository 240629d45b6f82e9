import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, LessThan } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { newId, TeamId } from '../common/ids';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { AuditEntryEntity } from './audit-entry.entity';
import { AuditEntryView } from './audit.schemas';

export interface AuditRecord {
  teamId: TeamId;
  action: string;
  resourceType: AuditEntryView['resourceType'];
  resourceId: string;
  before?: object | null;
  after?: object | null;
}

/**
 * The audit trail. `record` must be called with the transaction of the change it describes, so
 * a change and its entry are committed together or not at all.
 */
@Injectable()
export class AuditService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly access: AccessService,
  ) {}

  async record(tx: EntityManager, actor: Actor, entry: AuditRecord): Promise<void> {
    await tx.insert(AuditEntryEntity, {
      id: newId('audit'),
      teamId: entry.teamId,
      actorSubject: actor.subject,
      actorEmail: actor.email ?? null,
      clientId: actor.clientId ?? null,
      via: actor.via,
      action: entry.action,
      resourceType: entry.resourceType,
      resourceId: entry.resourceId,
      before: toJson(entry.before),
      after: toJson(entry.after),
    });
  }

  /** Newest first. */
  async list(actor: Actor, teamId: TeamId, page: PageQuery): Promise<Page<AuditEntryView>> {
    await this.access.requireTeam(actor, teamId, 'read');
    const after = decodeCursor(page.cursor, 'audit');
    const rows = await this.dataSource.getRepository(AuditEntryEntity).find({
      where: { teamId, ...(after ? { id: LessThan(after as AuditEntryEntity['id']) } : {}) },
      order: { id: 'DESC' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit, toView);
  }
}

function toJson(value: object | null | undefined): object | null {
  return value ? (JSON.parse(JSON.stringify(value)) as object) : null;
}

function toView(row: AuditEntryEntity): AuditEntryView {
  return {
    id: row.id,
    teamId: row.teamId,
    actor: { subject: row.actorSubject, email: row.actorEmail, clientId: row.clientId },
    via: row.via,
    action: row.action,
    resourceType: row.resourceType as AuditEntryView['resourceType'],
    resourceId: row.resourceId,
    before: row.before as Record<string, unknown> | null,
    after: row.after as Record<string, unknown> | null,
    createdAt: row.createdAt.toISOString(),
  };
}
