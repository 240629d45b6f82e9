import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, IsNull } from 'typeorm';
import { ForbiddenError, InsufficientScopeError, NotFoundError } from '../common/errors';
import { listedBy, RuleId, SiteId, TeamId } from '../common/ids';
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
  constructor(private readonly dataSource: DataSource) {}

  /** The token must carry `scope`; `bulwark:write` also covers reads. */
  requireScope(actor: Actor, scope: Scope): void {
    if (!hasScope(actor.scopes, scope)) throw new InsufficientScopeError(scope);
  }

  async requireTeam(
    actor: Actor,
    teamId: TeamId,
    permission: Permission,
    tx: EntityManager = this.dataSource.manager,
  ): Promise<TeamAccess> {
    this.requireScope(actor, scopeFor(permission));
    const team = await tx.findOneBy(TeamEntity, { id: teamId });
    const membership = team && (await this.membershipOf(actor, teamId, tx));
    if (!team || !membership) throw new NotFoundError('team', teamId, listedBy('team'));
    this.requireRole(membership, permission);
    return { team, membership };
  }

  async requireSite(
    actor: Actor,
    siteId: SiteId,
    permission: Permission,
    tx: EntityManager = this.dataSource.manager,
  ): Promise<SiteAccess> {
    this.requireScope(actor, scopeFor(permission));
    const site = await tx.findOneBy(SiteEntity, { id: siteId });
    const access = site && (await this.teamAccess(actor, site.teamId, tx));
    if (!site || !access) throw new NotFoundError('site', siteId, listedBy('site'));
    this.requireRole(access.membership, permission);
    return { ...access, site };
  }

  async requireRule(
    actor: Actor,
    ruleId: RuleId,
    permission: Permission,
    tx: EntityManager = this.dataSource.manager,
  ): Promise<RuleAccess> {
    this.requireScope(actor, scopeFor(permission));
    const rule = await tx.findOneBy(RuleEntity, { id: ruleId });
    const site = rule && (await tx.findOneBy(SiteEntity, { id: rule.siteId }));
    const access = site && (await this.teamAccess(actor, site.teamId, tx));
    if (!rule || !site || !access) throw new NotFoundError('rule', ruleId, listedBy('rule'));
    this.requireRole(access.membership, permission);
    return { ...access, site, rule };
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

  private async teamAccess(actor: Actor, teamId: TeamId, tx: EntityManager) {
    const membership = await this.membershipOf(actor, teamId, tx);
    if (!membership) return null;
    const team = await tx.findOneByOrFail(TeamEntity, { id: teamId });
    return { team, membership };
  }

  private async membershipOf(
    actor: Actor,
    teamId: TeamId,
    tx: EntityManager,
  ): Promise<MembershipEntity | null> {
    const own = await tx.findOneBy(MembershipEntity, { teamId, subject: actor.subject });
    if (own || !actor.email) return own;
    const invited = await tx.findOneBy(MembershipEntity, {
      teamId,
      email: actor.email,
      subject: IsNull(),
    });
    if (!invited) return null;
    await this.claimInvitations(actor, tx);
    invited.subject = actor.subject;
    return invited;
  }

  private requireRole(membership: MembershipEntity, permission: Permission): void {
    if (!roleAllows(membership.role, permission)) {
      throw new ForbiddenError(
        `Your role in this team is ${membership.role}, which cannot ${PERMISSION_TEXT[permission]}. Ask an owner or admin of the team to do it or to change your role.`,
      );
    }
  }
}
