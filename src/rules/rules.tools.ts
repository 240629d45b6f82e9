import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { Actor } from '../auth/actor';
import { SCOPES } from '../auth/permissions';
import { idArgument, parseRuleId, parseSiteId } from '../common/ids';
import { PageQuery } from '../common/pagination';
import { BulwarkToolAnnotations, McpTool, McpTools, READ_ONLY } from '../mcp/mcp-tool.decorator';
import { NOUNS } from '../common/text';
import { renderPage } from '../mcp/render';
import {
  CreateRuleInput,
  requireAChange,
  RulePage,
  RuleView,
  UpdateRuleFields,
} from './rules.schemas';
import { RulesService } from './rules.service';

const ListRulesInput = PageQuery.extend({ siteId: idArgument('site') });
const RuleIdInput = z.strictObject({ ruleId: idArgument('rule') });
const CreateRuleToolInput = z.strictObject({
  siteId: idArgument('site'),
  rule: CreateRuleInput.describe(
    'The rule: {name, type, config}; config depends on type (shield, rate_limit, bot, filter, email).',
  ),
});
const UpdateRuleToolInput = requireAChange(UpdateRuleFields.extend({ ruleId: idArgument('rule') }));
const DeletedRule = z.object({
  ruleId: z.string().describe('The id of the deleted rule.'),
  deleted: z.literal(true),
});

/** promote-rule and demote-rule answer the rule and whether anything changed. */
const ModeChangeView = RuleView.extend({
  changed: z
    .boolean()
    .describe(
      'false when the rule already had the mode asked for: nothing was changed or audited.',
    ),
});
type ModeChangeView = z.infer<typeof ModeChangeView>;

const renderRule = (r: RuleView) => `${r.id} "${r.name}" ${r.type} ${r.mode} on ${r.siteId}`;

/** Changes enforcement right away: clients should confirm with the user first. */
const CHANGES_ENFORCEMENT: BulwarkToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: true,
  openWorldHint: false,
};

@McpTools()
@Injectable()
export class RulesTools {
  constructor(private readonly rules: RulesService) {}

  @McpTool({
    name: 'list-rules',
    title: 'List the rules of a site',
    description:
      "Lists a site's rules, LIVE (enforced) and DRY_RUN (evaluated and recorded, never enforced). Returns {items: [{id, siteId, name, type, mode, config, createdBy, updatedBy, createdAt, updatedAt}], nextCursor}. Use it to see how a site is protected before changing anything. Next: get-rule for one rule, create-rule to add one, promote-rule to enforce a DRY_RUN rule.",
    input: ListRulesInput,
    output: RulePage,
    scope: SCOPES.read,
    annotations: READ_ONLY,
    render: (page) => renderPage(NOUNS.rule, page, renderRule, 'list-rules'),
  })
  listRules(actor: Actor, { siteId, ...page }: z.output<typeof ListRulesInput>) {
    return this.rules.list(actor, parseSiteId(siteId), page);
  }

  @McpTool({
    name: 'get-rule',
    title: 'Get a rule',
    description:
      'Returns one rule with its full configuration: {id, siteId, name, type, mode, config, createdBy, updatedBy, createdAt, updatedAt}. Use it before update-rule (which replaces the whole config) or to check a rule after a change. Next: update-rule, promote-rule or demote-rule.',
    input: RuleIdInput,
    output: RuleView,
    scope: SCOPES.read,
    annotations: READ_ONLY,
    render: renderRule,
  })
  getRule(actor: Actor, { ruleId }: z.output<typeof RuleIdInput>) {
    return this.rules.get(actor, parseRuleId(ruleId));
  }

  @McpTool({
    name: 'create-rule',
    title: 'Create a rule (in DRY_RUN)',
    description:
      'Adds a rule to a site, always in DRY_RUN mode: it is evaluated and recorded on every decision but never blocks anything, so it is safe to create. Types: shield (SQL injection, XSS, path traversal, command injection, scanners), rate_limit (fixed_window, sliding_window, token_bucket), bot, filter (IP/CIDR, country, ASN, network type, path, method), email. Returns the created rule {id, siteId, name, type, mode: "DRY_RUN", config, ...}. Next: let traffic flow, then promote-rule to enforce it.',
    input: CreateRuleToolInput,
    output: RuleView,
    scope: SCOPES.write,
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: false,
    },
    render: (r) => `Created ${renderRule(r)}. It is not enforced until promote-rule.`,
  })
  createRule(actor: Actor, { siteId, rule }: z.output<typeof CreateRuleToolInput>) {
    return this.rules.create(actor, parseSiteId(siteId), rule);
  }

  @McpTool({
    name: 'update-rule',
    title: 'Rename a rule or replace its configuration',
    description:
      "Changes a rule's name and/or replaces its whole config (validated against the rule's type; call get-rule first and send the complete new config). Keeps the rule's mode. Side effect: on a LIVE rule the new config is enforced from the next request. Returns the updated rule. Next: get-rule to confirm, or demote-rule to test the change in DRY_RUN first.",
    input: UpdateRuleToolInput,
    output: RuleView,
    scope: SCOPES.write,
    annotations: CHANGES_ENFORCEMENT,
    render: (r) => `Updated ${renderRule(r)}.`,
  })
  updateRule(actor: Actor, { ruleId, ...changes }: z.output<typeof UpdateRuleToolInput>) {
    return this.rules.update(actor, parseRuleId(ruleId), changes);
  }

  @McpTool({
    name: 'promote-rule',
    title: 'Promote a dry-run rule to live',
    description:
      'Switches a rule from DRY_RUN to LIVE. Side effect: from the next request, requests the rule denies are blocked, for real users too. Promoting a LIVE rule changes nothing and says so (changed: false, no audit entry). Returns the rule with mode "LIVE" and changed. Use it once the rule has run in DRY_RUN without denying legitimate traffic. Next: list-audit-entries records the change; demote-rule undoes it.',
    input: RuleIdInput,
    output: ModeChangeView,
    scope: SCOPES.write,
    annotations: CHANGES_ENFORCEMENT,
    render: (r) =>
      r.changed
        ? `Promoted ${renderRule(r)}: it is now enforced.`
        : `${renderRule(r)} was already LIVE: nothing changed.`,
  })
  promoteRule(actor: Actor, { ruleId }: z.output<typeof RuleIdInput>): Promise<ModeChangeView> {
    return this.setMode(actor, ruleId, 'LIVE');
  }

  @McpTool({
    name: 'demote-rule',
    title: 'Demote a live rule to dry-run',
    description:
      'Switches a rule from LIVE to DRY_RUN. Side effect: from the next request, requests it used to block are allowed; it keeps being evaluated and recorded. Demoting a DRY_RUN rule changes nothing and says so (changed: false, no audit entry). Returns the rule with mode "DRY_RUN" and changed. Use it when a live rule blocks legitimate traffic. Next: update-rule to fix its config, then promote-rule again.',
    input: RuleIdInput,
    output: ModeChangeView,
    scope: SCOPES.write,
    annotations: CHANGES_ENFORCEMENT,
    render: (r) =>
      r.changed
        ? `Demoted ${renderRule(r)}: it is no longer enforced.`
        : `${renderRule(r)} was already DRY_RUN: nothing changed, it was not enforced.`,
  })
  demoteRule(actor: Actor, { ruleId }: z.output<typeof RuleIdInput>): Promise<ModeChangeView> {
    return this.setMode(actor, ruleId, 'DRY_RUN');
  }

  private async setMode(actor: Actor, ruleId: string, mode: 'LIVE' | 'DRY_RUN') {
    const { rule, changed } = await this.rules.setMode(actor, parseRuleId(ruleId), mode);
    return { ...rule, changed };
  }

  @McpTool({
    name: 'delete-rule',
    title: 'Delete a rule',
    description:
      'Deletes a rule. Side effects: takes effect immediately; requests previously blocked by it will be allowed; cannot be undone (the audit log keeps its last configuration). Returns {ruleId, deleted: true}. Prefer demote-rule to stop enforcing a rule you may want back. Next: list-rules to see what remains.',
    input: RuleIdInput,
    output: DeletedRule,
    scope: SCOPES.write,
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: false,
    },
    render: (d) => `Deleted rule ${d.ruleId}.`,
  })
  async deleteRule(actor: Actor, { ruleId }: z.output<typeof RuleIdInput>) {
    const id = parseRuleId(ruleId);
    await this.rules.delete(actor, id);
    return { ruleId: id, deleted: true as const };
  }
}
