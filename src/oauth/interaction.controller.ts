import { All, Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { InteractionResults } from 'oidc-provider';
import { Public } from '../auth/auth.decorators';
import { AppConfig, BUILT_IN_ISSUER_PATH } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { UsersService } from '../users/users.service';
import { OAuthAbuseLimits } from './abuse-limits';
import { AuthorizationServer } from './authorization-server';
import { csrfToken, validCsrfToken } from './keys';
import { consentPage, errorPage, loginPage, PAGE_HEADERS } from './pages';

type Details = Awaited<ReturnType<AuthorizationServer['provider']['interactionDetails']>>;

/**
 * The login and consent pages of the built-in authorization server. oidc-provider sends the
 * browser here with an interaction id (bound to a cookie it set); these handlers show a form,
 * check it (CSRF token, same-origin, brute-force limits) and hand the result back to the
 * provider, which continues the authorization request.
 */
@ApiExcludeController()
@Public()
@Controller(`${BUILT_IN_ISSUER_PATH.slice(1)}/interaction/:uid`)
export class InteractionController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly server: AuthorizationServer,
    private readonly users: UsersService,
    private readonly limits: OAuthAbuseLimits,
  ) {}

  @Get()
  async show(@Req() req: Request, @Res() res: Response): Promise<void> {
    const details = await this.details(req, res);
    if (!details) return;
    if (details.prompt.name === 'login') {
      return this.send(res, 200, loginPage(await this.loginView(details)));
    }
    return this.send(res, 200, consentPage(await this.consentView(details)));
  }

  @Post('login')
  async login(@Req() req: Request, @Res() res: Response): Promise<void> {
    const form = await this.form(req, res, 'login');
    if (!form) return;
    const { details, body } = form;
    const email = typeof body.email === 'string' ? body.email.trim().toLowerCase() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const view = await this.loginView(details);
    // The attempt counts against the address and the account before the password is checked,
    // and is refused once either is over its limit. Checking first and counting failures after
    // the ~250 ms hash let parallel posts all through before the first failure was counted.
    const retryAfter =
      (await this.limits.consume('loginPerIp', req.ip ?? 'unknown')) ||
      (await this.limits.consume('loginFailuresPerAccount', email));
    if (retryAfter) {
      res.setHeader('retry-after', String(retryAfter));
      return this.send(
        res,
        429,
        loginPage({
          ...view,
          email,
          error: `Too many sign-in attempts. Try again in ${Math.ceil(retryAfter / 60)} minute(s).`,
        }),
      );
    }
    const user = email && password ? await this.users.authenticate(email, password) : undefined;
    if (!user) {
      return this.send(res, 401, loginPage({ ...view, email, error: 'Wrong e-mail or password.' }));
    }
    // The attempt succeeded, so it was no failure: the account's count starts again.
    await this.limits.reset('loginFailuresPerAccount', email);
    await this.finish(req, res, { login: { accountId: user.id } });
  }

  @Post('consent')
  async consent(@Req() req: Request, @Res() res: Response): Promise<void> {
    const form = await this.form(req, res, 'consent');
    if (!form) return;
    const { details, body } = form;
    if (body.decision !== 'approve') {
      return this.finish(req, res, {
        error: 'access_denied',
        error_description: 'The user denied the request.',
      });
    }
    const { provider } = this.server;
    const accountId = details.session!.accountId;
    const clientId = details.params.client_id as string;
    const grant = details.grantId
      ? (await provider.Grant.find(details.grantId))!
      : new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await this.finish(req, res, { consent: { grantId } }, true);
  }

  /** Anything else under the interaction path (a stale bookmark, a GET of a form URL). */
  @All('*rest')
  other(@Res() res: Response): void {
    this.send(
      res,
      404,
      errorPage(
        'not_found',
        'There is nothing here. Start the connection again from your application.',
      ),
    );
  }

  /**
   * The interaction and the posted fields of a login or consent form, once the post is shown to
   * come from this page (CSRF token, same origin) and to answer the prompt the interaction is
   * at; otherwise the answer is sent here and the result is undefined.
   */
  private async form(
    req: Request,
    res: Response,
    prompt: 'login' | 'consent',
  ): Promise<{ details: Details; body: Record<string, unknown> } | undefined> {
    const details = await this.details(req, res);
    if (!details) return undefined;
    if (details.prompt.name !== prompt) {
      this.restart(res, details);
      return undefined;
    }
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!this.sameOrigin(req) || !validCsrfToken(this.server.secrets, details.uid, body.csrf)) {
      this.send(
        res,
        403,
        errorPage(
          'invalid_request',
          'The form expired or was not sent from this page. Go back and try again.',
        ),
      );
      return undefined;
    }
    return { details, body };
  }

  private async details(req: Request, res: Response): Promise<Details | undefined> {
    try {
      const details = await this.server.provider.interactionDetails(req, res);
      if (details.uid !== req.params.uid) throw new Error('interaction id mismatch');
      return details;
    } catch {
      this.send(
        res,
        400,
        errorPage(
          'session_expired',
          'This sign-in page has expired or was opened in another browser. Start the connection again from your application.',
        ),
      );
      return undefined;
    }
  }

  private async finish(
    req: Request,
    res: Response,
    result: InteractionResults,
    merge = false,
  ): Promise<void> {
    await this.server.provider.interactionFinished(req, res, result, {
      mergeWithLastSubmission: merge,
    });
  }

  private restart(res: Response, details: Details): void {
    res.redirect(303, `${BUILT_IN_ISSUER_PATH}/interaction/${details.uid}`);
  }

  /** Browsers send Origin on form posts; one from elsewhere is a cross-site request. */
  private sameOrigin(req: Request): boolean {
    const origin = req.headers.origin;
    return origin === undefined || origin === new URL(this.config.baseUrl).origin;
  }

  private async clientName(clientId: string): Promise<string> {
    const client = await this.server.provider.Client.find(clientId);
    return client?.clientName ?? clientId;
  }

  private async loginView(details: Details) {
    return {
      action: `${BUILT_IN_ISSUER_PATH}/interaction/${details.uid}/login`,
      csrf: csrfToken(this.server.secrets, details.uid),
      clientName: await this.clientName(details.params.client_id as string),
    };
  }

  private async consentView(details: Details) {
    const user = await this.users.findById(details.session!.accountId);
    const scope = typeof details.params.scope === 'string' ? details.params.scope : '';
    const resource = details.params.resource;
    return {
      action: `${BUILT_IN_ISSUER_PATH}/interaction/${details.uid}/consent`,
      csrf: csrfToken(this.server.secrets, details.uid),
      clientName: await this.clientName(details.params.client_id as string),
      clientId: details.params.client_id as string,
      redirectUri: details.params.redirect_uri as string | undefined,
      email: user?.email ?? details.session!.accountId,
      scopes: scope.split(' ').filter(Boolean),
      resource: Array.isArray(resource) ? resource.join(', ') : (resource as string | undefined),
    };
  }

  private send(res: Response, status: number, html: string): void {
    res.status(status).set(PAGE_HEADERS).send(html);
  }
}
