import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../config/config';
import { APP_CONFIG, APP_OPTIONS, AppOptions } from '../config/config.module';
import { DatabaseHandle, openDatabase } from './database';

const DATABASE_HANDLE = Symbol('DATABASE_HANDLE');

/** Provides the TypeORM DataSource (PGlite embedded, or PostgreSQL) and closes it on shutdown. */
@Global()
@Module({
  providers: [
    {
      provide: DATABASE_HANDLE,
      inject: [APP_CONFIG, APP_OPTIONS],
      useFactory: (config: AppConfig, options: AppOptions) =>
        openDatabase({
          databaseUrl: config.databaseUrl,
          dataDir: config.dataDir,
          embedded: options.embedded,
        }),
    },
    {
      provide: DataSource,
      inject: [DATABASE_HANDLE],
      useFactory: (handle: DatabaseHandle) => handle.dataSource,
    },
  ],
  exports: [DataSource],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(DATABASE_HANDLE) private readonly handle: DatabaseHandle) {}

  async onApplicationShutdown(): Promise<void> {
    await this.handle.close();
  }
}
