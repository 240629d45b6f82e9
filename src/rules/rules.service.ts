import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, MoreThan } from 'typeorm';
import { AccessService } from '../auth/access.service';
import { Actor } from '../auth/actor';
import { AuditService } from '../audit/audit.service';
import { SiteChanges } from '../decisions/site-changes';
import { ConflictError } from '../common/errors';
import { newId, RuleId, SiteId, TeamId } from '../common/ids';
import { decodeCursor, Page, PageQuery, toPage } from '../common/pagination';
import { parseInput } from '../common/validation';
import { SiteEntity } from '../sites/site.entity';
import { RuleEntity } from './rule.entity';
import {
  CreateRuleInput,
  MAX_RULES_PER_SITE,
  RULE_CONFIG_SCHEMAS,
  RULE_TYPES,
  RuleMode,
  RuleType,
  RuleView,
  UpdateRuleInput,
} from './rules.schemas';

/** The outcome of promote or demote: `changed` is false when the rule already had the mode. */
export interface ModeChange {
  rule: RuleView;
  changed: boolean;
}

@Injectable()
export class RulesService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly changes: SiteChanges,
  ) {}

  /**
   * Creates a rule, always in DRY_RUN: a new rule is measured before it may block anyone
   * (see promote). A site holds at most MAX_RULES_PER_SITE rules: every rule runs on every
   * decision, and every decision's results (and so each decision an agent reads) list them all.
   */
  async create(actor: Actor, siteId: SiteId, input: CreateRuleInput): Promise<RuleView> {
    return this.changes.transaction(async (tx, changed) => {
      const { site } = await this.access.requireSite(actor, siteId, 'rules:write', tx);
      // Lock the site so that two creations cannot both pass the count.
      await tx.findOne(SiteEntity, { where: { id: siteId }, lock: { mode: 'pessimistic_write' } });
      const count = await tx.count(RuleEntity, { where: { siteId } });
      if (count >= MAX_RULES_PER_SITE) {
        throw new ConflictError(
          `Site ${siteId} already has ${count} rules, the most a site may have (${MAX_RULES_PER_SITE}). Delete a rule you no longer need (list-rules, then delete-rule) or widen an existing rule's config (update-rule) instead.`,
        );
      }
      changed(siteId);
      const id = newId('rule');
      await tx.insert(RuleEntity, {
        id,
        siteId,
        name: input.name,
        type: input.type,
        mode: 'DRY_RUN',
        config: input.config,
        createdBy: actor.subject,
        updatedBy: actor.subject,
      });
      const view = toRuleView(await tx.findOneByOrFail(RuleEntity, { id }));
      await this.audit.record(tx, actor, {
        teamId: site.teamId,
        action: 'rule.created',
        resourceType: 'rule',
        resourceId: id,
        after: view,
      });
      return view;
    });
  }

  async list(actor: Actor, siteId: SiteId, page: PageQuery): Promise<Page<RuleView>> {
    await this.access.requireSite(actor, siteId, 'read');
    const after = decodeCursor(page.cursor, 'rule');
    const rows = await this.dataSource.getRepository(RuleEntity).find({
      where: { siteId, ...(after ? { id: MoreThan(after as RuleId) } : {}) },
      order: { id: 'ASC' },
      take: page.limit + 1,
    });
    return toPage(rows, page.limit, toRuleView);
  }

  async get(actor: Actor, ruleId: RuleId): Promise<RuleView> {
    const { rule } = await this.access.requireRule(actor, ruleId, 'read');
    return toRuleView(rule);
  }

  /** Changes name and/or config; the config is validated against the rule's own type. */
  async update(actor: Actor, ruleId: RuleId, input: UpdateRuleInput): Promise<RuleView> {
    return this.changes.transaction(async (tx, changed) => {
      const { rule, site } = await this.access.requireRule(actor, ruleId, 'rules:write', tx);
      changed(rule.siteId);
      const changes: Partial<RuleEntity> = { updatedBy: actor.subject };
      if (input.name !== undefined) changes.name = input.name;
      if (input.config !== undefined) {
        changes.config = parseInput(
          RULE_CONFIG_SCHEMAS[rule.type],
          input.config,
          'config',
          configHint(rule.type, input.config),
        );
      }
      return this.change(tx, actor, site.teamId, rule, changes, 'rule.updated');
    });
  }

  /** Makes a DRY_RUN rule LIVE: from the next decision on, it blocks. Idempotent (see setMode). */
  async promote(actor: Actor, ruleId: RuleId): Promise<RuleView> {
    return (await this.setMode(actor, ruleId, 'LIVE')).rule;
  }

  /** Makes a LIVE rule DRY_RUN again: it stops blocking from the next decision on. Idempotent. */
  async demote(actor: Actor, ruleId: RuleId): Promise<RuleView> {
    return (await this.setMode(actor, ruleId, 'DRY_RUN')).rule;
  }

  /** Deletes the rule; requests it blocked are allowed from the next decision on. */
  async delete(actor: Actor, ruleId: RuleId): Promise<void> {
    await this.changes.transaction(async (tx, changed) => {
      const { rule, site } = await this.access.requireRule(actor, ruleId, 'rules:write', tx);
      changed(rule.siteId);
      await tx.delete(RuleEntity, { id: ruleId });
      await this.audit.record(tx, actor, {
        teamId: site.teamId,
        action: 'rule.deleted',
        resourceType: 'rule',
        resourceId: ruleId,
        before: toRuleView(rule),
      });
    });
  }

  /**
   * Puts the rule in `mode` (LIVE: promote; DRY_RUN: demote). A rule already in that mode is left
   * alone: nothing is written, audited or announced, and `changed` is false, so that callers
   * report "already LIVE" rather than a change that did not happen.
   */
  async setMode(actor: Actor, ruleId: RuleId, mode: RuleMode): Promise<ModeChange> {
    return this.changes.transaction(async (tx, changed) => {
      const { rule, site } = await this.access.requireRule(actor, ruleId, 'rules:write', tx);
      if (rule.mode === mode) return { rule: toRuleView(rule), changed: false };
      changed(rule.siteId);
      const action = mode === 'LIVE' ? 'rule.promoted' : 'rule.demoted';
      const changes = { mode, updatedBy: actor.subject };
      const view = await this.change(tx, actor, site.teamId, rule, changes, action);
      return { rule: view, changed: true };
    });
  }

  private async change(
    tx: EntityManager,
    actor: Actor,
    teamId: TeamId,
    rule: RuleEntity,
    changes: Partial<RuleEntity>,
    action: string,
  ): Promise<RuleView> {
    const before = toRuleView(rule);
    await tx.update(RuleEntity, { id: rule.id }, changes);
    const view = toRuleView(await tx.findOneByOrFail(RuleEntity, { id: rule.id }));
    await this.audit.record(tx, actor, {
      teamId,
      action,
      resourceType: 'rule',
      resourceId: rule.id,
      before,
      after: view,
    });
    return view;
  }
}

/**
 * What to say when a config does not fit the rule's type. A config that fits another type is an
 * attempt to change the type, which no update can do: only then does the hint say so.
 */
function configHint(type: RuleType, config: Record<string, unknown>): string {
  const fits = RULE_TYPES.find(
    (other) =>
      other !== type &&
      Object.keys(config).length > 0 &&
      RULE_CONFIG_SCHEMAS[other].safeParse(config).success,
  );
  return fits
    ? `This is ${/^[aeiou]/.test(fits) ? 'an' : 'a'} ${fits} config, but the rule is of type ${type} and a rule's type cannot change: create a new ${fits} rule instead (POST /v1/sites/{siteId}/rules, MCP create-rule), then delete this one.`
    : `The rule is of type ${type}: send its complete new ${type} config (get-rule, or GET /v1/rules/{ruleId}, shows the current one).`;
}

export function toRuleView(rule: RuleEntity): RuleView {
  return {
    id: rule.id,
    siteId: rule.siteId,
    name: rule.name,
    type: rule.type,
    mode: rule.mode,
    config: rule.config as Record<string, unknown>,
    createdBy: rule.createdBy,
    updatedBy: rule.updatedBy,
    createdAt: rule.createdAt.toISOString(),
    updatedAt: rule.updatedAt.toISOString(),
  };
}
