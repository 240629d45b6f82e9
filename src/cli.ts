import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Command, InvalidArgumentError } from 'commander';
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

program
  .command('demo')
  .description(
    'Create a demo team, site and rules and run realistic traffic through the decide engine.',
  )
  .option('--decisions <n>', 'how many requests to generate', positiveInt, 200_000)
  .option('--days <n>', 'how many days back the traffic goes', positiveInt, 30)
  .option('--owner <subject>', 'OAuth subject that owns the demo team', 'demo')
  .action(async (options: { decisions: number; days: number; owner: string }) => {
    const config = configOrExit();
    /* eslint-disable @typescript-eslint/no-require-imports -- loaded only for this command, like serve */
    const { NestFactory } = require('@nestjs/core') as typeof import('@nestjs/core');
    const { AppModule } = require('./app.module') as typeof import('./app.module');
    const { SimulatedClock } = require('./common/clock') as typeof import('./common/clock');
    const { DemoService } = require('./demo/demo.service') as typeof import('./demo/demo.service');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const embedded =
      config.mode === 'embedded' ? EmbeddedPostgres.start(config.dataDir) : undefined;
    const app = await NestFactory.createApplicationContext(
      AppModule.forRoot({ ...config, logLevel: 'warn' }, { clock: new SimulatedClock(), embedded }),
      { logger: ['error', 'warn'] },
    );
    const started = performance.now();
    try {
      const result = await app.get(DemoService).seed(options, progressBar);
      const seconds = (performance.now() - started) / 1000;
      process.stderr.write('\n');
      process.stdout.write(
        [
          `Demo team ${result.teamId} (owner ${options.owner}), site ${result.siteId}.`,
          `${result.decisions} decisions over ${options.days} days (${result.denied} denied) in ${seconds.toFixed(1)} s.`,
          `Site key: ${result.siteKey}`,
          `Ask your agent for get-security-briefing with siteId ${result.siteId}.`,
        ].join('\n') + '\n',
      );
    } finally {
      await app.close();
    }
  });

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new InvalidArgumentError(`expected a whole number of at least 1, got "${value}"`);
  }
  return n;
}

/** One line on stderr, redrawn at most once per percent. */
function progressBar(done: number, total: number): void {
  const width = 30;
  const share = Math.min(1, done / total);
  const filled = Math.round(share * width);
  process.stderr.write(
    `\rGenerating demo traffic [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${Math.round(share * 100)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`,
  );
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
