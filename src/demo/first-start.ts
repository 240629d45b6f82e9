import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
 * Whether this start is the first on its data directory: embedded mode with the built-in
 * authorization server and no database yet. BULWARK_DEMO=off skips the demo.
 */
export function isFirstStart(config: AppConfig, env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    config.mode === 'embedded' &&
    !config.oauth.external &&
    config.dataDir !== 'memory://' &&
    env.BULWARK_DEMO !== 'off' &&
    !existsSync(join(config.dataDir, 'pglite'))
  );
}

/**
 * Creates the demo user and the demo team, site, rules and 30 days of traffic it owns, so that a
 * new user signs in and gets a security briefing right away. Runs before the server starts, in
 * an application context of its own with a simulated clock (each decision carries its
 * historical time); closing it also closes the database it was given.
 */
export async function firstStart(
  config: AppConfig,
  embedded: Promise<EmbeddedPostgres> | undefined,
  onProgress: (done: number, total: number) => void,
): Promise<{ email: string; password: string; siteId: string; decisions: number }> {
  const app = await NestFactory.createApplicationContext(
    AppModule.forRoot({ ...config, logLevel: 'warn' }, { clock: new SimulatedClock(), embedded }),
    { logger: ['error', 'warn'] },
  );
  try {
    const password = generatePassword();
    const user = await app.get(UsersService).create({ email: DEMO_EMAIL, password });
    const demo = await app
      .get(DemoService)
      .seed({ owner: user.id, decisions: FIRST_START_DECISIONS, days: 30 }, onProgress);
    return { email: user.email, password, siteId: demo.siteId, decisions: demo.decisions };
  } finally {
    await app.close();
  }
}
