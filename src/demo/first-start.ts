import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module';
import { SimulatedClock } from '../common/clock';
import { AppConfig } from '../config/config';
import type { EmbeddedPostgres } from '../database/embedded-postgres';
import { generatePassword } from '../users/passwords';
import { UsersService } from '../users/users.service';
import { DemoService } from './demo.service';

export const DEMO_EMAIL = 'demo@bulwark.local';
/** Enough traffic for every analysis to have something to say, generated in seconds. */
export const FIRST_START_DECISIONS = 50_000;

/**
 * Written once the first start has run (or found users already there): the demo is offered once
 * per data directory. The directory itself is no sign: any CLI command (`bulwark token`, `users
 * create`) run before the first start creates the database.
 */
const FIRST_START_DONE = 'first-start.done';

/**
 * Whether this start may be the first on its data directory: embedded mode with the built-in
 * authorization server and no first start recorded. BULWARK_DEMO=off skips the demo.
 * `firstStart` then makes sure the database holds no user yet.
 */
export function isFirstStart(config: AppConfig, env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    config.mode === 'embedded' &&
    !config.oauth.external &&
    config.dataDir !== 'memory://' &&
    env.BULWARK_DEMO !== 'off' &&
    !existsSync(join(config.dataDir, FIRST_START_DONE))
  );
}

/**
 * Creates the demo user and the demo team, site, rules and 30 days of traffic it owns, so that a
 * new user signs in and gets a security briefing right away; null, creating nothing, when the
 * database already has users (a data directory from before the marker, or users created from
 * the command line first). Runs before the server starts, in an application context of its own
 * with a simulated clock (each decision carries its historical time); closing it also closes
 * the database it was given.
 */
export async function firstStart(
  config: AppConfig,
  embedded: Promise<EmbeddedPostgres> | undefined,
  onProgress: (done: number, total: number) => void,
): Promise<{ email: string; password: string; siteId: string; decisions: number } | null> {
  const app = await NestFactory.createApplicationContext(
    // The pino configuration stays the server's own: nestjs-pino keeps the first one it sees for
    // the whole process (its out-of-context logger). Quiet goes through Nest's logger instead,
    // as an instance: a list of levels would become Nest's global levels, also for the server.
    AppModule.forRoot(config, { clock: new SimulatedClock(), embedded }),
    { logger: new ConsoleLogger({ logLevels: ['error', 'warn'] }) },
  );
  try {
    const users = app.get(UsersService);
    let demo = null;
    if ((await users.count()) === 0) {
      const password = generatePassword();
      onProgress(0, FIRST_START_DECISIONS);
      const user = await users.create({ email: DEMO_EMAIL, password });
      const seeded = await app
        .get(DemoService)
        .seed({ owner: user.id, decisions: FIRST_START_DECISIONS, days: 30 }, onProgress);
      demo = { email: user.email, password, siteId: seeded.siteId, decisions: seeded.decisions };
    }
    writeFileSync(join(config.dataDir, FIRST_START_DONE), `${new Date().toISOString()}\n`);
    return demo;
  } finally {
    await app.close();
  }
}
