import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Command } from 'commander';
import { ConfigError, loadConfig } from './config/config';
import { migrate, openDatabase } from './database/database';
import { EmbeddedPostgres } from './database/embedded-postgres';

/** Loads the configuration or stops the process with a message naming each bad variable. */
function configOrExit() {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`bulwark: ${error.message}\nSee the configuration table in README.md.`);
      process.exit(78);
    }
    throw error;
  }
}

const program = new Command()
  .name('bulwark')
  .description('Self-hostable application security: REST API and MCP server in one process.');

program
  .command('serve', { isDefault: true })
  .description('Start the server (embedded PGlite under DATA_DIR unless DATABASE_URL is set).')
  .action(async () => {
    const config = configOrExit();
    const started = performance.now();
    // PGlite opens (WASM compile, data files) while the rest of the code loads.
    const embedded =
      config.mode === 'embedded' ? EmbeddedPostgres.start(config.dataDir) : undefined;
    embedded?.catch(() => undefined);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- deferred on purpose, see above
    const { serve } = require('./main') as typeof import('./main');
    const app = await serve(config, { embedded });
    const where =
      config.mode === 'embedded' ? `embedded mode, data in ${config.dataDir}` : 'production mode';
    new Logger('Bulwark').log(
      `Listening on ${config.baseUrl} (${where}; bound to ${config.host}:${config.port}) after ${Math.round(performance.now() - started)} ms. API docs: ${config.baseUrl}/docs`,
    );
    void app;
  });

program
  .command('migrate')
  .description('Apply pending database migrations and exit.')
  .action(async () => {
    const config = configOrExit();
    const db = await openDatabase({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      runMigrations: false,
    });
    try {
      const applied = await migrate(db.dataSource, config.mode === 'production');
      process.stdout.write(
        applied.length ? `Applied: ${applied.join(', ')}\n` : 'Schema is up to date.\n',
      );
    } finally {
      await db.close();
    }
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
