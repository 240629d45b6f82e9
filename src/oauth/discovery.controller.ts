import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { Public } from '../auth/auth.decorators';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { RESOURCE_SCOPES } from './scopes';
import { oauthError } from './oauth-http';
import { OAuthUpstream } from './upstream';
import { SERVER_INFO } from '../mcp/mcp.endpoint';

export const SERVER_CARD_PATH = '/.well-known/mcp/server-card.json';

/**
 * Discovery documents, all at the root of BASE_URL (clients derive these paths mechanically) and
 * all built from BASE_URL, never from the request's Host: behind a reverse proxy they name the
 * public origin whatever address the proxy connected to.
 */
@ApiExcludeController()
@Public()
@Controller('.well-known')
export class DiscoveryController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly upstream: OAuthUpstream,
  ) {}

  /**
   * RFC 9728 metadata of the MCP endpoint. The root form answers the same document: clients of
   * the 2025-03-26 era look there first, and /mcp is the resource they are trying to reach.
   */
  @Get(['oauth-protected-resource/mcp', 'oauth-protected-resource'])
  mcpResource(@Res() res: Response): void {
    this.json(res, this.protectedResource('/mcp', 'Bulwark MCP server'));
  }

  /** RFC 9728 metadata of the REST API, named by /v1's 401 challenges. */
  @Get('oauth-protected-resource/v1')
  restResource(@Res() res: Response): void {
    this.json(res, this.protectedResource('/v1', 'Bulwark REST API'));
  }

  /**
   * RFC 8414 metadata: the upstream's, with Bulwark as issuer and its own registration and token
   * endpoints (proxied); authorization stays the upstream's. The authorization response carries
   * the upstream's `iss`, so advertising RFC 9207 support would make careful clients reject it.
   * Also served as OpenID configuration for clients that only try that.
   */
  @Get(['oauth-authorization-server', 'openid-configuration'])
  authorizationServer(@Res() res: Response): void {
    const upstream = this.upstream.current();
    if (!upstream) {
      return oauthError(res, 503, 'temporarily_unavailable', this.upstream.unavailableReason(), 5);
    }
    const { authorization_response_iss_parameter_supported: _dropped, ...rest } = upstream;
    const base = this.config.baseUrl;
    this.json(res, {
      ...rest,
      issuer: base,
      // Clients may choose scopes from here: Bulwark's are the ones its tokens must carry.
      scopes_supported: [
        ...new Set([
          ...(Array.isArray(upstream.scopes_supported)
            ? (upstream.scopes_supported as string[])
            : []),
          ...RESOURCE_SCOPES,
        ]),
      ],
      token_endpoint: `${base}/mcp/token`,
      ...(upstream.registration_endpoint ? { registration_endpoint: `${base}/mcp/register` } : {}),
    });
  }

  @Get('mcp/server-card.json')
  serverCard(@Res() res: Response): void {
    this.json(res, {
      $schema: 'https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json',
      name: 'dev.bulwark/bulwark',
      version: SERVER_INFO.version,
      description:
        'Self-hosted application security: investigate traffic, anomalies and IPs, and manage protection rules (dry-run first) for your sites.',
      remotes: [
        {
          type: 'streamable-http',
          url: `${this.config.baseUrl}/mcp`,
          authentication: { required: true, schemes: ['oauth2'] },
        },
      ],
      capabilities: { tools: { listChanged: false } },
    });
  }

  /** Paths of earlier server-card drafts (SEP-1649, the IETF discovery draft). */
  @Get(['mcp.json', 'mcp-server'])
  serverCardRedirect(@Res() res: Response): void {
    res.redirect(308, `${this.config.baseUrl}${SERVER_CARD_PATH}`);
  }

  private protectedResource(path: string, name: string) {
    const base = this.config.baseUrl;
    return {
      resource: `${base}${path}`,
      authorization_servers: [base],
      scopes_supported: [...RESOURCE_SCOPES],
      bearer_methods_supported: ['header'],
      resource_name: name,
      resource_documentation: `${base}/docs`,
    };
  }

  private json(res: Response, body: object): void {
    res
      .status(200)
      .setHeader('cache-control', 'public, max-age=300')
      .setHeader('access-control-allow-origin', '*')
      .json(body);
  }
}
