import { Injectable } from '@nestjs/common';
import { Actor } from '../auth/actor';
import { SCOPES } from '../auth/permissions';
import { PageQuery } from '../common/pagination';
import { McpTool, McpTools, READ_ONLY } from '../mcp/mcp-tool.decorator';
import { NOUNS } from '../common/text';
import { renderPage } from '../mcp/render';
import { TeamPage } from './teams.schemas';
import { TeamsService } from './teams.service';

@McpTools()
@Injectable()
export class TeamsTools {
  constructor(private readonly teams: TeamsService) {}

  @McpTool({
    name: 'list-teams',
    title: 'List my teams',
    description:
      'Lists the teams you belong to, with your role in each and the plan. Returns {items: [{id, name, plan, monthlyRequestQuota, role, createdAt}], nextCursor}. Use it first: every site, rule and audit entry belongs to a team. Next: list-sites with a team id.',
    input: PageQuery,
    output: TeamPage,
    scope: SCOPES.read,
    annotations: READ_ONLY,
    render: (page) =>
      renderPage(
        NOUNS.team,
        page,
        (t) => `${t.id} "${t.name}" (role ${t.role}, plan ${t.plan})`,
        'list-teams',
      ),
  })
  listTeams(actor: Actor, page: PageQuery) {
    return this.teams.listMine(actor, page);
  }
}
