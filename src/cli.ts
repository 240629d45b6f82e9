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
    /* eslint-disable @typescript-eslint/no-require-imports -- deferred on purpose, see below */
    const { isFirstStart } = require('./demo/first-start') as typeof import('./demo/first-start');
    const first = isFirstStart(config);
    // PGlite opens (WASM compile, data files) while the rest of the code loads.
    let embedded = config.mode === 'embedded' ? EmbeddedPostgres.start(config.dataDir) : undefined;
    embedded?.catch(() => undefined);
    // Tracing instruments node:http, so it starts before the server code loads; the SDK loads
    // only when tracing is configured.
    if (config.tracing) {
      const { startTracing } =
        require('./platform/tracing-sdk') as typeof import('./platform/tracing-sdk');
      startTracing(config.tracing);
    }
    const { serve } = require('./main') as typeof import('./main');
    let welcome = '';
    if (first) {
      const { firstStart } = require('./demo/first-start') as typeof import('./demo/first-start');
      const demo = await firstStart(config, embedded, (done, total) => {
        if (done === 0) {
          process.stderr.write(
            'First start: creating the demo user and 30 days of demo traffic.\n',
          );
        }
        progressBar(done, total);
      });
      embedded = EmbeddedPostgres.start(config.dataDir);
      if (demo) {
        process.stderr.write('\n');
        welcome = [
          '',
          'Demo user created (shown only now; change it with `bulwark users reset-password --email demo@bulwark.local`):',
          `  E-mail:   ${demo.email}`,
          `  Password: ${demo.password}`,
          `Demo site ${demo.siteId} has ${demo.decisions.toLocaleString('en-US')} decisions over 30 days.`,
          `Connect your MCP client to ${config.baseUrl}/mcp and ask for a security briefing.`,
          '',
        ].join('\n');
      }
    }
    /* eslint-enable @typescript-eslint/no-require-imports */
    const app = await serve(config, { embedded });
    const where =
      config.mode === 'embedded' ? `embedded mode, data in ${config.dataDir}` : 'production mode';
    new Logger('Bulwark').log(
      `Listening on ${config.baseUrl} (${where}; bound to ${config.host}:${config.port}) after ${Math.round(performance.now() - started)} ms. API docs: ${config.baseUrl}/docs`,
    );
    // Straight to the terminal, never through the logger: log pipelines must not hold passwords.
    if (welcome) process.stdout.write(welcome + '\n');
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

const users = program
  .command('users')
  .description(
    'Manage the local users of the built-in authorization server (embedded mode). Works while the server runs on the same DATA_DIR, and while it is stopped.',
  );

users
  .command('create')
  .description('Create a user; prints a generated password unless --password-stdin is given.')
  .requiredOption('--email <email>', 'e-mail address the user signs in with')
  .option('--password-stdin', 'read the password from standard input (at least 12 characters)')
  .action(async (options: { email: string; passwordStdin?: boolean }) => {
    const { password, generated } = await passwordFrom(options.passwordStdin);
    const user = (await runAdmin('users.create', { email: options.email, password })) as {
      id: string;
      email: string;
    };
    process.stdout.write(`Created ${user.email} (${user.id}).${shownOnce(password, generated)}\n`);
  });

users
  .command('list')
  .description('List the local users.')
  .action(async () => {
    const list = (await runAdmin('users.list', {})) as {
      id: string;
      email: string;
      createdAt: string;
    }[];
    if (!list.length) {
      process.stdout.write('No users yet. Create one with `bulwark users create --email E`.\n');
      return;
    }
    for (const u of list) process.stdout.write(`${u.id}  ${u.email}  created ${u.createdAt}\n`);
  });

users
  .command('reset-password')
  .description(
    'Set a new password and sign the user out everywhere (sessions, grants and refresh tokens are revoked).',
  )
  .requiredOption('--email <email>', "the user's e-mail address")
  .option('--password-stdin', 'read the new password from standard input')
  .action(async (options: { email: string; passwordStdin?: boolean }) => {
    const { password, generated } = await passwordFrom(options.passwordStdin);
    const user = (await runAdmin('users.reset-password', { email: options.email, password })) as {
      email: string;
    };
    process.stdout.write(
      `Password of ${user.email} changed; its sessions and refresh tokens are revoked.${shownOnce(password, generated)}\n`,
    );
  });

program
  .command('token')
  .description(
    'Print an access token for scripts (embedded mode, built-in authorization server): audiences /v1 and /mcp.',
  )
  .requiredOption('--email <email>', 'the user the token acts for')
  .option('--scope <scopes>', 'space-separated scopes', 'bulwark:read bulwark:write')
  .option('--ttl <seconds>', 'lifetime in seconds (60 to 2592000)', positiveInt, 3600)
  .action(async (options: { email: string; scope: string; ttl: number }) => {
    const { token } = (await runAdmin('token', {
      email: options.email,
      scope: options.scope,
      ttlSeconds: options.ttl,
    })) as { token: string };
    process.stdout.write(`${token}\n`);
  });

/**
 * Runs an operator command: in the running server over its admin socket when there is one on
 * DATA_DIR (embedded PGlite must not be opened twice), else in this process.
 */
async function runAdmin(command: string, input: unknown): Promise<unknown> {
  const config = configOrExit();
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only for these commands */
  const { askRunningServer } =
    require('./admin/admin-socket') as typeof import('./admin/admin-socket');
  if (config.mode === 'embedded' && config.dataDir !== 'memory://') {
    const answer = await askRunningServer(config.dataDir, command, input);
    if (answer) return answer.error ? fail(answer.error.message) : answer.result;
  }
  const { NestFactory } = require('@nestjs/core') as typeof import('@nestjs/core');
  const { AdminModule } = require('./admin/admin.module') as typeof import('./admin/admin.module');
  const { AdminCommands } =
    require('./admin/admin-commands') as typeof import('./admin/admin-commands');
  const { DomainError } = require('./common/errors') as typeof import('./common/errors');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const app = await NestFactory.createApplicationContext(AdminModule.forRoot(config), {
    logger: ['error', 'warn'],
  });
  try {
    return await app.get(AdminCommands).run(command, input);
  } catch (error) {
    if (error instanceof DomainError) return fail(error.message);
    throw error;
  } finally {
    await app.close();
  }
}

function fail(message: string): never {
  process.stderr.write(`bulwark: ${message}\n`);
  process.exit(1);
}

/** A generated password, for the one time it is shown; nothing for one the user typed. */
function shownOnce(password: string, generated: boolean): string {
  return generated ? `\nPassword: ${password}\nIt is shown only now.` : '';
}

/** The password piped on stdin (one trailing newline dropped), or a generated one. */
async function passwordFrom(
  stdin: boolean | undefined,
): Promise<{ password: string; generated: boolean }> {
  if (!stdin) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { generatePassword } = require('./users/passwords') as typeof import('./users/passwords');
    return { password: generatePassword(), generated: true };
  }
  if (process.stdin.isTTY) {
    fail(
      '--password-stdin reads a piped password, for example: printf %s "$PASSWORD" | bulwark users create --email E --password-stdin',
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return {
    password: Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, ''),
    generated: false,
  };
}

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
