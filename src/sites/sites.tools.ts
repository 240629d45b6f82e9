import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { Actor } from '../auth/actor';
import { SCOPES } from '../auth/permissions';
import { idArgument, parseSiteId, parseTeamId } from '../common/ids';
import { PageQuery } from '../common/pagination';
import { McpTool, McpTools, READ_ONLY } from '../mcp/mcp-tool.decorator';
import { NOUNS } from '../common/text';
import { renderPage } from '../mcp/render';
import { SiteKeyView, SitePage } from './sites.schemas';
import { SitesService } from './sites.service';

const ListSitesInput = PageQuery.extend({ teamId: idArgument('team') });
const SiteKeyInput = z.strictObject({ siteId: idArgument('site') });

@McpTools()
@Injectable()
export class SitesTools {
  constructor(private readonly sites: SitesService) {}

  @McpTool({
    name: 'list-sites',
    title: 'List the sites of a team',
    description:
      "Lists a team's protected sites. Returns {items: [{id, teamId, name, domain, keyHint, keyRotatedAt, createdAt, updatedAt}], nextCursor}. Use it to find the site id that rule and key tools take. Next: list-rules with a site id.",
    input: ListSitesInput,
    output: SitePage,
    scope: SCOPES.read,
    annotations: READ_ONLY,
    render: (page) =>
      renderPage(NOUNS.site, page, (s) => `${s.id} "${s.name}" (${s.domain})`, 'list-sites'),
  })
  listSites(actor: Actor, { teamId, ...page }: z.output<typeof ListSitesInput>) {
    return this.sites.list(actor, parseTeamId(teamId), page);
  }

  @McpTool({
    name: 'get-site-key',
    title: "Reveal a site's key",
    description:
      'Returns the site\'s current secret key, {siteId, key, keyRotatedAt}, which the protected app sends as "Authorization: Bearer <key>" to POST /v1/decide. Use it when setting up or re-deploying the app. Needs an owner or admin role and the bulwark:write scope, because the key is a secret. Side effects: none on the site, but every reveal is recorded in the audit log. Do not paste the key anywhere public. If it leaked, call rotate-site-key.',
    input: SiteKeyInput,
    output: SiteKeyView,
    scope: SCOPES.write,
    // Changes nothing, but reveals a secret and records the reveal: a client should ask first.
    annotations: {
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: true,
      openWorldHint: false,
    },
    render: (k) => `Site key of ${k.siteId} (rotated ${k.keyRotatedAt}): ${k.key}`,
  })
  getSiteKey(actor: Actor, { siteId }: z.output<typeof SiteKeyInput>) {
    return this.sites.readKey(actor, parseSiteId(siteId));
  }

  @McpTool({
    name: 'rotate-site-key',
    title: "Rotate a site's key",
    description:
      "Replaces the site's secret key with a new one. Returns the new key, {siteId, key, keyRotatedAt}. Side effects: the old key stops working on the very next request, so the protected app fails closed or open (per its SDK settings) until it is deployed with the new key; cannot be undone. Use it when the key may have leaked. Next: give the new key to whoever deploys the app.",
    input: SiteKeyInput,
    output: SiteKeyView,
    scope: SCOPES.write,
    annotations: {
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: false,
    },
    render: (k) => `New site key of ${k.siteId} (old key revoked): ${k.key}`,
  })
  rotateSiteKey(actor: Actor, { siteId }: z.output<typeof SiteKeyInput>) {
    return this.sites.rotateKey(actor, parseSiteId(siteId));
  }
}
