import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, EntityManager, EntityTarget, IsNull, MoreThan, ObjectLiteral } from 'typeorm';
import { ForbiddenError, InsufficientScopeError, NotFoundError } from '../common/errors';
import { listedBy, RuleId, SiteId, TeamId } from '../common/ids';
import { ReadCache } from '../common/read-cache';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { RuleEntity } from '../rules/rule.entity';
import { SiteEntity } from '../sites/site.entity';
import { MembershipEntity } from '../teams/membership.entity';
import { TeamEntity } from '../teams/team.entity';
import { Actor } from './actor';
import { hasScope, Permission, roleAllows, Scope, scopeFor } from './permissions';

export interface TeamAccess {
  team: TeamEntity;
  membership: MembershipEntity;
}
export interface SiteAccess extends TeamAccess {
  site: SiteEntity;
}
export interface RuleAccess extends SiteAccess {
  rule: RuleEntity;
}

/** A keyset page of one of a team's lists: rows ordered by id, after `after`, at most `take`. */
export interface TeamListing<E extends { id: string }> {
  entity: EntityTarget<E>;
  /** The property holding the owning team's id. */
  teamProperty: keyof E & string;
  /** Rows after this id; from the first when undefined. */
  after?: string;
  take: number;
}

const PERMISSION_TEXT: Record<Permission, string> = {
  read: 'read this team',
  'rules:write': 'change rules',
  'sites:write': 'create, change or delete sites',
  'site-keys:manage': 'read or rotate site keys',
  'members:manage': 'manage members',
  'team:update': 'rename the team',
  'team:delete': 'delete the team',
};

/**
 * The one access policy. Every service method calls it first, with the caller, so REST, MCP and
 * any later interface get identical checks. A resource of another team and a missing resource
 * produce the same NotFoundError: whether an id exists is itself information that only the
 * owning team may learn.
 */
@Injectable()
export class AccessService {
  /**
   * Reads of the relational store that are safe to share while nothing is written (embedded
   * mode only, see ReadCache): the checks below when they run outside a transaction, and the
   * services' small lists.
   */
  readonly cache: ReadCache;
  private readonly tables = new Map<EntityTarget<ObjectLiteral>, string>();

  constructor(
    private readonly dataSource: DataSource,
    @Optional() @Inject(APP_CONFIG) config?: AppConfig,
  ) {
    this.cache =
      config === undefined
        ? ReadCache.disabled()
        : ReadCache.of(dataSource, config.mode === 'embedded');
  }

  /** The token must carry `scope`; `bulwark:write` also covers reads. */
  requireScope(actor: Actor, scope: Scope): void {
    if (!hasScope(actor.scopes, scope)) throw new InsufficientScopeError(scope);
  }

  /**
   * The caller's access to a team. Without `tx` the lookup may come from the read cache; the
   * result is then shared and frozen. Pass the transaction's manager to read inside it.
   */
  async requireTeam(
    actor: Actor,
    teamId: TeamId,
    permission: Permission,
    tx?: EntityManager,
  ): Promise<TeamAccess> {
    this.requireScope(actor, scopeFor(permission));
    const access = await this.lookup(`team:${teamId}`, actor, tx, (m) =>
      this.teamAccess(actor, teamId, m),
    );
    if (!access) throw new NotFoundError('team', teamId, listedBy('team'));
    this.requireRole(access.membership, permission);
    return access;
  }

  /**
   * The caller's access to a team and a page of one of its lists, read together: one query
   * (membership, team and page) instead of one for the check and one for the page. The page is
   * returned only once the check has passed. Outside a transaction, so may come from the read
   * cache (shared and frozen).
   */
  async requireTeamListing<E extends { id: string } & ObjectLiteral>(
    actor: Actor,
    teamId: TeamId,
    permission: Permission,
    listing: TeamListing<E>,
  ): Promise<TeamAccess & { rows: E[] }> {
    this.requireScope(actor, scopeFor(permission));
    const table = this.tableOf(listing.entity);
    const key = `list:${table}:${teamId}:${listing.after ?? ''}:${listing.take}`;
    const found = await this.lookup(key, actor, undefined, async (m) => {
      const together = await this.teamAccessWithRows(actor, teamId, listing, m);
      if (together !== undefined) return together;
      // Not a member by subject: maybe by an invitation to the verified e-mail (claimed here).
      const access = await this.teamAccess(actor, teamId, m);
      if (!access) return null;
      const rows = await m.getRepository(listing.entity).find({
        where: {
          [listing.teamProperty]: teamId,
          ...(listing.after === undefined ? {} : { id: MoreThan(listing.after) }),
        } as never,
        order: { id: 'ASC' } as never,
        take: listing.take,
      });
      return { ...access, rows };
    });
    if (!found) throw new NotFoundError('team', teamId, listedBy('team'));
    this.requireRole(found.membership, permission);
    return found;
  }

  async requireSite(
    actor: Actor,
    siteId: SiteId,
    permission: Permission,
    tx?: EntityManager,
  ): Promise<SiteAccess> {
    this.requireScope(actor, scopeFor(permission));
    const access = await this.lookup(`site:${siteId}`, actor, tx, async (m) => {
      const site = await m.findOneBy(SiteEntity, { id: siteId });
      const team = site && (await this.teamAccess(actor, site.teamId, m));
      return site && team && { ...team, site };
    });
    if (!access) throw new NotFoundError('site', siteId, listedBy('site'));
    this.requireRole(access.membership, permission);
    return access;
  }

  async requireRule(
    actor: Actor,
    ruleId: RuleId,
    permission: Permission,
    tx?: EntityManager,
  ): Promise<RuleAccess> {
    this.requireScope(actor, scopeFor(permission));
    const access = await this.lookup(`rule:${ruleId}`, actor, tx, async (m) => {
      const rule = await m.findOneBy(RuleEntity, { id: ruleId });
      const site = rule && (await m.findOneBy(SiteEntity, { id: rule.siteId }));
      const team = site && (await this.teamAccess(actor, site.teamId, m));
      return rule && site && team && { ...team, site, rule };
    });
    if (!access) throw new NotFoundError('rule', ruleId, listedBy('rule'));
    this.requireRole(access.membership, permission);
    return access;
  }

  /**
   * Gives a person the memberships they were invited to by e-mail, now that a token proves the
   * address is theirs. A membership already held under their subject wins over an invitation.
   */
  async claimInvitations(actor: Actor, tx: EntityManager = this.dataSource.manager): Promise<void> {
    if (!actor.email) return;
    await tx.query(
      `UPDATE memberships SET subject = $1, updated_at = now()
        WHERE subject IS NULL AND email = $2
          AND NOT EXISTS (SELECT 1 FROM memberships m2 WHERE m2.team_id = memberships.team_id AND m2.subject = $1)`,
      [actor.subject, actor.email],
    );
  }

  /** The table of an entity, looked up once. */
  private tableOf(entity: EntityTarget<ObjectLiteral>): string {
    let table = this.tables.get(entity);
    if (table === undefined) {
      table = this.dataSource.getMetadata(entity).tableName;
      this.tables.set(entity, table);
    }
    return table;
  }

  /**
   * Runs `load` in `tx`, or, outside a transaction, through the read cache under `key` and the
   * caller's identity (subject and verified e-mail, which decide the membership found).
   */
  private lookup<T>(
    key: string,
    actor: Actor,
    tx: EntityManager | undefined,
    load: (manager: EntityManager) => Promise<T | null>,
  ): Promise<T | null> {
    if (tx) return load(tx);
    const who = JSON.stringify([actor.subject, actor.email ?? null]);
    return this.cache.read(`access:${key}:${who}`, () => load(this.dataSource.manager));
  }

  /**
   * The caller's membership by subject, the team and `listing`'s page in one query; undefined
   * when there is no membership by subject (the caller may still hold an invitation).
   */
  private async teamAccessWithRows<E extends { id: string } & ObjectLiteral>(
    actor: Actor,
    teamId: TeamId,
    listing: TeamListing<E>,
    tx: EntityManager,
  ): Promise<(TeamAccess & { rows: E[] }) | undefined> {
    const metadata = tx.connection.getMetadata(listing.entity);
    const teamColumn = metadata.findColumnWithPropertyName(listing.teamProperty)!.databaseName;
    const idColumn = metadata.findColumnWithPropertyName('id')!.databaseName;
    // The page is chosen in a subquery (LIMIT applies to it alone), then joined for hydration.
    const page = tx
      .createQueryBuilder()
      .subQuery()
      .select(`page.${idColumn}`)
      .from(metadata.tableName, 'page')
      .where(`page.${teamColumn} = :teamId`)
      .andWhere(listing.after === undefined ? 'TRUE' : `page.${idColumn} > :after`)
      .orderBy(`page.${idColumn}`, 'ASC')
      .limit(listing.take)
      .getQuery();
    const own: (MembershipEntity & { team?: TeamEntity; rows?: E[] }) | null = await tx
      .createQueryBuilder(MembershipEntity, 'm')
      .innerJoinAndMapOne('m.team', TeamEntity, 't', 't.id = m.teamId')
      .leftJoinAndMapMany('m.rows', metadata.target, 'r', `r.${idColumn} IN ${page}`)
      .where('m.teamId = :teamId AND m.subject = :subject', { teamId, subject: actor.subject })
      .setParameter('after', listing.after)
      .orderBy('r.id', 'ASC')
      .getOne();
    if (!own) return undefined;
    const { team, rows, ...membership } = own;
    return {
      team: team!,
      membership: Object.assign(new MembershipEntity(), membership),
      rows: rows ?? [],
    };
  }

  /** The team and the caller's membership in it, in one query; null for a non-member. */
  private async teamAccess(
    actor: Actor,
    teamId: TeamId,
    tx: EntityManager,
  ): Promise<TeamAccess | null> {
    const own: (MembershipEntity & { team?: TeamEntity }) | null = await tx
      .createQueryBuilder(MembershipEntity, 'm')
      .innerJoinAndMapOne('m.team', TeamEntity, 't', 't.id = m.teamId')
      .where('m.teamId = :teamId AND m.subject = :subject', { teamId, subject: actor.subject })
      .getOne();
    if (own) {
      const { team, ...membership } = own;
      return { team: team!, membership: Object.assign(new MembershipEntity(), membership) };
    }
    if (!actor.email) return null;
    const invited = await tx.findOneBy(MembershipEntity, {
      teamId,
      email: actor.email,
      subject: IsNull(),
    });
    if (!invited) return null;
    await this.claimInvitations(actor, tx);
    invited.subject = actor.subject;
    const team = await tx.findOneByOrFail(TeamEntity, { id: teamId });
    return { team, membership: invited };
  }

  private requireRole(membership: MembershipEntity, permission: Permission): void {
    if (!roleAllows(membership.role, permission)) {
      throw new ForbiddenError(
        `Your role in this team is ${membership.role}, which cannot ${PERMISSION_TEXT[permission]}. Ask an owner or admin of the team to do it or to change your role.`,
      );
    }
  }
}
