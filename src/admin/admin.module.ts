import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { AppConfigModule, AppOptions } from '../config/config.module';
import { DatabaseModule } from '../database/database.module';
import { loadOAuthSecrets } from '../oauth/keys';
import { UsersService } from '../users/users.service';
import { OAUTH_SECRETS } from '../oauth/keys';
import { AdminCommands } from './admin-commands';

/** Just enough of the application for operator commands while the server is stopped. */
@Module({})
export class AdminModule {
  static forRoot(config: AppConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AdminModule,
      imports: [AppConfigModule.forRoot(config, options), DatabaseModule],
      providers: [
        UsersService,
        AdminCommands,
        { provide: OAUTH_SECRETS, useFactory: () => oauthSecretsFor(config) },
      ],
    };
  }
}

/** The built-in server's keys, or undefined when an external provider issues the tokens. */
export function oauthSecretsFor(config: AppConfig) {
  return config.oauth.external ? undefined : loadOAuthSecrets(config.dataDir);
}
