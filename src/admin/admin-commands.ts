import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import { ValidationError } from '../common/errors';
import { parseInput } from '../common/validation';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { RESOURCE_SCOPES, SUPPORTED_SCOPES } from '../oauth/scopes';
import { OAUTH_SECRETS, OAuthSecrets } from '../oauth/keys';
import { mintAccessToken } from '../oauth/token-minter';
import { Email } from '../users/users.schemas';
import { UsersService } from '../users/users.service';

export const TokenInput = z.object({
  email: Email,
  scope: z
    .string()
    .trim()
    .default(RESOURCE_SCOPES.join(' '))
    .refine(
      (s) => s.split(/\s+/).every((x) => (SUPPORTED_SCOPES as readonly string[]).includes(x)),
      {
        message: `expected scopes among ${RESOURCE_SCOPES.join(', ')}`,
      },
    ),
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .default(3600),
});

/**
 * The operator commands of `bulwark users ...` and `bulwark token`. The CLI runs them in its own
 * process when the server is stopped, or asks the running server to run them over its admin
 * socket (AdminSocket): embedded PGlite belongs to one process, so the data directory is never
 * opened twice.
 */
@Injectable()
export class AdminCommands {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UsersService,
    @Inject(OAUTH_SECRETS) private readonly secrets: OAuthSecrets | undefined,
  ) {}

  run(command: string, input: unknown): Promise<unknown> {
    switch (command) {
      case 'users.create':
        return this.users.create(input);
      case 'users.list':
        return this.users.list();
      case 'users.reset-password':
        return this.users.resetPassword(input);
      case 'token':
        return this.token(input);
      default:
        throw new ValidationError([{ field: 'command', message: `unknown command ${command}` }]);
    }
  }

  private async token(input: unknown): Promise<{ token: string; expiresIn: number }> {
    const { email, scope, ttlSeconds } = parseInput(TokenInput, input);
    if (this.config.oauth.external || !this.secrets) {
      throw new ValidationError(
        [{ field: 'mode', message: 'tokens come from your OAuth provider (OAUTH_ISSUER is set)' }],
        'Ask your provider for a token (for example with its client-credentials flow).',
      );
    }
    const user = await this.users.requireByEmail(email);
    const token = await mintAccessToken(this.secrets, {
      issuer: this.config.oauth.issuer,
      audiences: [`${this.config.baseUrl}/v1`, `${this.config.baseUrl}/mcp`],
      user,
      scopes: scope.split(/\s+/).filter(Boolean),
      ttlSeconds,
    });
    return { token, expiresIn: ttlSeconds };
  }
}
