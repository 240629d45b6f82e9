import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { Actor } from '../auth/actor';
import { SCOPES } from '../auth/permissions';
import { idArgument, parseTeamId } from '../common/ids';
import { PageQuery } from '../common/pagination';
import { McpTool, McpTools, READ_ONLY } from '../mcp/mcp-tool.decorator';
import { NOUNS } from '../common/text';
import { renderPage } from '../mcp/render';
import { AuditPage } from './audit.schemas';
import { AuditService } from './audit.service';

const ListAuditInput = PageQuery.extend({ teamId: idArgument('team') });

@McpTools()
@Injectable()
export class AuditTools {
  constructor(private readonly audit: AuditService) {}

  @McpTool({
    name: 'list-audit-entries',
    title: "List a team's audit log",
    description:
      'Lists the changes made in a team, newest first: who (OAuth subject, e-mail, client), through what (rest, mcp, cli), what (action such as rule.promoted), on which resource, with the resource before and after. Returns {items: [{id, teamId, actor, via, action, resourceType, resourceId, before, after, createdAt}], nextCursor}. Use it to answer "who changed this rule?" or to review an agent\'s changes. Next: get-rule to see a rule\'s current state.',
    input: ListAuditInput,
    output: AuditPage,
    scope: SCOPES.read,
    annotations: READ_ONLY,
    render: (page) =>
      renderPage(
        NOUNS.auditEntry,
        page,
        (e) =>
          `${e.createdAt} ${e.action} ${e.resourceId} by ${e.actor.email ?? e.actor.subject} via ${e.via}${e.actor.clientId ? ` (client ${e.actor.clientId})` : ''}`,
        'list-audit-entries',
      ),
  })
  listAuditEntries(actor: Actor, { teamId, ...page }: z.output<typeof ListAuditInput>) {
    return this.audit.list(actor, parseTeamId(teamId), page);
  }
}
