import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In, MoreThan } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { SCOPES } from '../auth/permissions';
import { AuditService } from '../audit/audit.service';
import { SiteChanges } from '../decisions/site-changes';
import { SiteEntity } from '../sites/site.entity';
import { ConflictError, ForbiddenError, NotFoundError } from '../common/errors';
import { listedBy, MemberId, newId, TeamId } from '../common/ids';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { MembershipEntity } from './membership.entity';
import { PLANS, TeamEntity } from './team.entity';
import {
  AddMemberInput,
  ChangeRoleInput,
  CreateTeamInput,
  MemberView,
  RenameTeamInput,
  TeamView,
} from './teams.schemas';

@Injectable()
export class TeamsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly changes: SiteChanges,
  ) {}

  /** Creates a team on the free plan with the caller as its owner. */
  async create(actor: Actor, input: CreateTeamInput): Promise<TeamView> {
    this.access.requireScope(actor, SCOPES.write);
    return this.dataSource.transaction(async (tx) => {
      const team = tx.create(TeamEntity, { id: newId('team'), name: input.name, plan: 'free' });
      await tx.insert(TeamEntity, team);
      const owner = tx.create(MembershipEntity, {
        id: newId('member'),
        teamId: team.id,
        subject: actor.subject,
        email: actor.email ?? null,
        role: 'owner',
      });
      await tx.insert(MembershipEntity, owner);
      const saved = await tx.findOneByOrFail(TeamEntity, { id: team.id });
      await this.audit.record(tx, actor, {
        teamId: team.id,
        action: 'team.created',
        resourceType: 'team',
        resourceId: team.id,
        after: teamAudit(saved),
      });
      return toTeamView(saved, owner);
    });
  }

  /** The caller's teams, oldest first; invitations to the caller's verified e-mail are claimed. */
  async listMine(actor: Actor, page: PageQuery): Promise<Page<TeamView>> {
    this.access.requireScope(actor, SCOPES.read);
    await this.access.claimInvitations(actor);
    const after = decodeCursor(page.cursor, 'team');
    const memberships = await this.dataSource.getRepository(MembershipEntity).find({
      where: { subject: actor.subject, ...(after ? { teamId: MoreThan(after as TeamId) } : {}) },
      order: { teamId: 'ASC' },
      take: page.limit + 1,
    });
    const teams = await this.dataSource
      .getRepository(TeamEntity)
      .findBy({ id: In(memberships.map((m) => m.teamId)) });
    const byId = new Map(teams.map((t) => [t.id, t]));
    const rows = memberships.map((m) => ({ id: m.teamId, team: byId.get(m.teamId)!, m }));
    return toPage(rows, page.limit, (r) => toTeamView(r.team, r.m));
  }

  async get(actor: Actor, teamId: TeamId): Promise<TeamView> {
    const { team, membership } = await this.access.requireTeam(actor, teamId, 'read');
    return toTeamView(team, membership);
  }

  async rename(actor: Actor, teamId: TeamId, input: RenameTeamInput): Promise<TeamView> {
    return this.dataSource.transaction(async (tx) => {
      const { team, membership } = await this.access.requireTeam(actor, teamId, 'team:update', tx);
      const before = teamAudit(team);
      await tx.update(TeamEntity, { id: teamId }, { name: input.name });
      const saved = await tx.findOneByOrFail(TeamEntity, { id: teamId });
      await this.audit.record(tx, actor, {
        teamId,
        action: 'team.renamed',
        resourceType: 'team',
        resourceId: teamId,
        before,
        after: teamAudit(saved),
      });
      return toTeamView(saved, membership);
    });
  }

  /** Deletes the team with its members, sites and rules; the audit trail stays on disk. */
  async delete(actor: Actor, teamId: TeamId): Promise<void> {
    await this.changes.transaction(async (tx, changed) => {
      const { team } = await this.access.requireTeam(actor, teamId, 'team:delete', tx);
      // Its sites go with it: their keys must stop working on every instance.
      const sites = await tx.find(SiteEntity, { where: { teamId }, select: { id: true } });
      changed(...sites.map((s) => s.id));
      await tx.delete(TeamEntity, { id: teamId });
      await this.audit.record(tx, actor, {
        teamId,
        action: 'team.deleted',
        resourceType: 'team',
        resourceId: teamId,
        before: teamAudit(team),
      });
    });
  }

  async listMembers(actor: Actor, teamId: TeamId, page: PageQuery): Promise<Page<MemberView>> {
    await this.access.requireTeam(actor, teamId, 'read');
    const after = decodeCursor(page.cursor, 'member');
    const rows = await this.dataSource.getRepository(MembershipEntity).find({
      where: { teamId, ...(after ? { id: MoreThan(after as MemberId) } : {}) },
      order: { id: 'ASC' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit, toMemberView);
  }

  async addMember(actor: Actor, teamId: TeamId, input: AddMemberInput): Promise<MemberView> {
    return this.dataSource.transaction(async (tx) => {
      const { membership: mine } = await this.access.requireTeam(
        actor,
        teamId,
        'members:manage',
        tx,
      );
      if (input.role === 'owner') requireOwner(mine, 'add an owner');
      const existing = await tx.findOne(MembershipEntity, {
        where: input.subject ? { teamId, subject: input.subject } : { teamId, email: input.email },
      });
      if (existing) {
        throw new ConflictError(
          `That person is already a member of this team (member ${existing.id}, role ${existing.role}). To change their role call PATCH /v1/teams/${teamId}/members/${existing.id}.`,
        );
      }
      const member = tx.create(MembershipEntity, {
        id: newId('member'),
        teamId,
        subject: input.subject ?? null,
        email: input.email ?? null,
        role: input.role,
      });
      await tx.insert(MembershipEntity, member);
      const saved = await tx.findOneByOrFail(MembershipEntity, { id: member.id });
      const view = toMemberView(saved);
      await this.audit.record(tx, actor, {
        teamId,
        action: 'member.added',
        resourceType: 'member',
        resourceId: member.id,
        after: view,
      });
      return view;
    });
  }

  async changeRole(
    actor: Actor,
    teamId: TeamId,
    memberId: MemberId,
    input: ChangeRoleInput,
  ): Promise<MemberView> {
    return this.dataSource.transaction(async (tx) => {
      const { membership: mine } = await this.access.requireTeam(
        actor,
        teamId,
        'members:manage',
        tx,
      );
      const target = await this.lockMember(tx, teamId, memberId);
      if (target.role === input.role) return toMemberView(target);
      if (target.role === 'owner' || input.role === 'owner')
        requireOwner(mine, 'grant or revoke the owner role');
      if (target.role === 'owner') await this.keepAnOwner(tx, teamId, 'demote');
      const before = toMemberView(target);
      await tx.update(MembershipEntity, { id: memberId }, { role: input.role });
      const view = toMemberView(await tx.findOneByOrFail(MembershipEntity, { id: memberId }));
      await this.audit.record(tx, actor, {
        teamId,
        action: 'member.role_changed',
        resourceType: 'member',
        resourceId: memberId,
        before,
        after: view,
      });
      return view;
    });
  }

  /**
   * Removes a member; anyone may remove themselves (leave), except the last owner. Leaving needs
   * no role but is still a change, so it needs the write scope: a read-only agent must not be
   * able to take its user out of a team.
   */
  async removeMember(actor: Actor, teamId: TeamId, memberId: MemberId): Promise<void> {
    this.access.requireScope(actor, SCOPES.write);
    await this.dataSource.transaction(async (tx) => {
      const { membership: mine } = await this.access.requireTeam(actor, teamId, 'read', tx);
      const target = await this.lockMember(tx, teamId, memberId);
      const leaving = target.id === mine.id;
      if (!leaving) {
        await this.access.requireTeam(actor, teamId, 'members:manage', tx);
        if (target.role === 'owner') requireOwner(mine, 'remove an owner');
      }
      if (target.role === 'owner') await this.keepAnOwner(tx, teamId, leaving ? 'leave' : 'remove');
      await tx.delete(MembershipEntity, { id: memberId });
      await this.audit.record(tx, actor, {
        teamId,
        action: leaving ? 'member.left' : 'member.removed',
        resourceType: 'member',
        resourceId: memberId,
        before: toMemberView(target),
      });
    });
  }

  private async lockMember(tx: EntityManager, teamId: TeamId, memberId: MemberId) {
    const target = await tx.findOne(MembershipEntity, {
      where: { id: memberId, teamId },
      lock: { mode: 'pessimistic_write' },
    });
    if (!target) throw new NotFoundError('member', memberId, listedBy('member'));
    return target;
  }

  /** A team always keeps an owner: nobody else could delete it or manage its owners. */
  private async keepAnOwner(tx: EntityManager, teamId: TeamId, act: string): Promise<void> {
    const owners = await tx.find(MembershipEntity, {
      where: { teamId, role: 'owner' },
      lock: { mode: 'pessimistic_write' },
    });
    if (owners.length <= 1) {
      throw new ConflictError(
        `The last owner of a team cannot ${act}. Make another member an owner first (PATCH /v1/teams/${teamId}/members/{memberId} with role owner), or delete the team.`,
      );
    }
  }
}

function requireOwner(mine: MembershipEntity, act: string): void {
  if (mine.role !== 'owner') {
    throw new ForbiddenError(`Only an owner can ${act}; your role in this team is ${mine.role}.`);
  }
}

function teamAudit(team: TeamEntity) {
  return { id: team.id, name: team.name, plan: team.plan };
}

export function toTeamView(team: TeamEntity, membership: MembershipEntity): TeamView {
  return {
    id: team.id,
    name: team.name,
    plan: team.plan,
    monthlyRequestQuota: PLANS[team.plan].monthlyRequestQuota,
    role: membership.role,
    createdAt: team.createdAt.toISOString(),
  };
}

function toMemberView(m: MembershipEntity): MemberView {
  return {
    id: m.id,
    teamId: m.teamId,
    subject: m.subject,
    email: m.email,
    role: m.role,
    pending: m.subject === null,
    createdAt: m.createdAt.toISOString(),
  };
}
