import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import type { Clock } from '../common/clock';
import type { EmbeddedPostgres } from '../database/embedded-postgres';
import { AppConfig } from './config';

/** Injection token for the validated, typed configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');
/** Injection token for the programmatic options of `createApp`. */
export const APP_OPTIONS = Symbol('APP_OPTIONS');

export interface AppOptions {
  /** Replaces the system clock (tests). */
  clock?: Clock;
  /** Embedded database already being opened, so start-up overlaps it with loading code. */
  embedded?: Promise<EmbeddedPostgres>;
}

/**
 * Makes the configuration validated by `loadConfig` available everywhere, through
 * @nestjs/config (for libraries that read ConfigService) and as a typed `APP_CONFIG` value.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(config: AppConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppConfigModule,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ app: config })] })],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: APP_OPTIONS, useValue: options },
      ],
      exports: [APP_CONFIG, APP_OPTIONS, ConfigModule],
    };
  }
}
