import type { IncomingMessage, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import Provider, { Configuration, errors, KoaContextWithOIDC } from 'oidc-provider';
import { DataSource } from 'typeorm';
import { AppConfig, BUILT_IN_ISSUER_PATH } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { UsersService } from '../users/users.service';
import { OAUTH_SECRETS, OAuthSecrets } from './keys';
import { OAuthRecords } from './oauth-records';
import { errorPage } from './pages';
import { RESOURCE_SCOPES } from './scopes';

const MINUTE = 60;
const DAY = 24 * 60 * MINUTE;

/**
 * The URL oidc-provider routes a request on: the request's URL below the issuer's path. Express
 * routes case-insensitively, so `/OAUTH/reg` arrives here too; the prefix is cut by its length,
 * whatever its spelling.
 */
export function providerUrl(originalUrl: string): string {
  return originalUrl.slice(BUILT_IN_ISSUER_PATH.length) || '/';
}

/**
 * The built-in authorization server (embedded mode, no OAUTH_ISSUER): oidc-provider mounted at
 * `<BASE_URL>/oauth`. Dynamic client registration, authorization code with PKCE (S256, always
 * required), rotating refresh tokens, and resource indicators so every access token is a JWT
 * whose audience is one of this server's resources. Users are the local users (UsersService);
 * the login and consent pages are InteractionController's.
 */
@Injectable()
export class AuthorizationServer implements OnApplicationShutdown {
  private readonly logger = new Logger('OAuth');
  readonly provider: Provider;
  readonly secrets: OAuthSecrets;
  private readonly records: OAuthRecords;
  private readonly callback: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(OAUTH_SECRETS) secrets: OAuthSecrets,
    dataSource: DataSource,
    users: UsersService,
  ) {
    this.secrets = secrets;
    this.records = new OAuthRecords(dataSource);
    this.provider = new Provider(config.oauth.issuer, this.configuration(users));
    // The server always sees itself at BASE_URL (see handle), so it trusts the headers set there.
    this.provider.proxy = true;
    // RFC 6749 §3.3: without `scope` the server uses a pre-defined default or refuses. The
    // default is what the protected-resource metadata advertises; the consent page shows it.
    this.provider.use(async (ctx, next) => {
      if (ctx.method === 'GET' && ctx.path === '/auth' && ctx.query.scope === undefined) {
        ctx.query = { ...ctx.query, scope: RESOURCE_SCOPES.join(' ') };
        // That rewrote req.url; oidc-provider finds its mount point by comparing it with this.
        (ctx.req as IncomingMessage & { originalUrl?: string }).originalUrl =
          BUILT_IN_ISSUER_PATH + ctx.url;
      }
      await next();
    });
    this.provider.on('server_error', (_ctx, error) =>
      this.logger.error({ err: error }, 'Authorization server error'),
    );
    this.callback = this.provider.callback();
    this.sweeper = setInterval(
      () => {
        this.records.sweep().catch((error: unknown) => this.logger.warn(String(error)));
      },
      10 * MINUTE * 1000,
    ).unref();
  }

  /** Serves a request whose path starts with the issuer's path (`/oauth`). */
  handle(
    req: IncomingMessage & { originalUrl?: string; ip?: string },
    res: ServerResponse,
  ): Promise<void> {
    // oidc-provider builds endpoint URLs and cookie flags from the request. Whoever connected
    // (a browser through a proxy, this process over loopback), the request is for BASE_URL:
    // these headers are set here, replacing anything a client sent. The client address is
    // express's, which honours TRUST_PROXY.
    const base = new URL(this.config.baseUrl);
    req.headers['x-forwarded-host'] = base.host;
    req.headers['x-forwarded-proto'] = base.protocol.slice(0, -1);
    req.headers['x-forwarded-for'] = req.ip ?? req.socket.remoteAddress ?? '';
    // oidc-provider routes on the path below its mount point and rebuilds URLs from originalUrl.
    req.originalUrl ??= req.url;
    req.url = providerUrl(req.originalUrl!);
    return this.callback(req, res);
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweeper);
  }

  private configuration(users: UsersService): Configuration {
    const resources = new Set(this.config.oauth.resources);
    const defaultResource = `${this.config.baseUrl}/mcp`;
    return {
      adapter: (model: string) => this.records.adapterFor(model),
      jwks: { keys: this.secrets.keys },
      cookies: {
        keys: this.secrets.cookieKeys,
        long: { httpOnly: true, sameSite: 'lax', signed: true },
        short: { httpOnly: true, sameSite: 'lax', signed: true },
      },
      async findAccount(_ctx, id) {
        const user = await users.findById(id);
        if (!user) return undefined;
        return {
          accountId: user.id,
          claims: () => ({ sub: user.id, email: user.email, email_verified: true }),
        };
      },
      // Local users are created by operators, so their e-mail counts as verified; Bulwark matches
      // team invitations on it.
      async extraTokenClaims(_ctx, token) {
        if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
        const user = await users.findById(token.accountId);
        return user ? { email: user.email, email_verified: true } : undefined;
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'] },
      // Bulwark's scopes are listed too: clients register with them (RFC 7591 `scope`).
      scopes: ['openid', 'offline_access', 'email', ...RESOURCE_SCOPES],
      responseTypes: ['code'],
      pkce: { required: () => true },
      clientDefaults: {
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
      },
      features: {
        devInteractions: { enabled: false },
        registration: { enabled: true, issueRegistrationAccessToken: false },
        revocation: {
          enabled: true,
          // A client revokes only its own tokens (RFC 7009 §2.1); others' are silently ignored.
          allowedPolicy: (_ctx, client, token) =>
            Promise.resolve(token.clientId === client.clientId),
        },
        resourceIndicators: {
          enabled: true,
          defaultResource: () => defaultResource,
          useGrantedResource: () => true,
          getResourceServerInfo: (_ctx, resource) => {
            if (!resources.has(resource)) {
              throw new errors.InvalidTarget(
                `unknown resource; this server issues tokens for ${[...resources].join(', ')}`,
              );
            }
            return {
              scope: RESOURCE_SCOPES.join(' '),
              audience: resource,
              accessTokenTTL: 15 * MINUTE,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'ES256' } },
            };
          },
        },
      },
      // MCP clients register for refresh tokens and expect them; `offline_access` is not needed.
      issueRefreshToken: (_ctx, client) =>
        Promise.resolve(client.grantTypeAllowed('refresh_token')),
      rotateRefreshToken: true,
      expiresWithSession: () => Promise.resolve(false),
      ttl: {
        AccessToken: 15 * MINUTE,
        AuthorizationCode: MINUTE,
        IdToken: 15 * MINUTE,
        Interaction: 30 * MINUTE,
        Session: 14 * DAY,
        Grant: 365 * DAY,
        RefreshToken: 30 * DAY,
      },
      interactions: {
        url: (_ctx, interaction) => `${BUILT_IN_ISSUER_PATH}/interaction/${interaction.uid}`,
      },
      renderError(ctx: KoaContextWithOIDC, out) {
        ctx.type = 'html';
        ctx.body = errorPage(out.error, out.error_description);
        return Promise.resolve();
      },
    };
  }
}
