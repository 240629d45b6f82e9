import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { INestApplication } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { loadConfig } from '../../src/config/config';
import { createApp } from '../../src/main';
import { OAuthUpstream } from '../../src/oauth/upstream';
import { TestIssuer } from './issuer';
import { createTestDatabase, TestDatabase } from './postgres';

export type DbKind = 'pglite' | 'postgres';
export const DB_KINDS: DbKind[] = ['pglite', 'postgres'];

/** Public origin the test apps believe they have; tokens are minted for its resources. */
export const BASE_URL = 'http://bulwark.test';
export const REST_AUDIENCE = `${BASE_URL}/v1`;
export const MCP_AUDIENCE = `${BASE_URL}/mcp`;

export interface TestApp {
  app: INestApplication;
  url: string;
  issuer: TestIssuer;
  dataSource: DataSource;
  /** The environment the app was configured from, to start a second instance on the same data. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** The whole application on an ephemeral port, on embedded PGlite or a fresh PostgreSQL database. */
export async function startApp(db: DbKind, env: Record<string, string> = {}): Promise<TestApp> {
  const issuer = await TestIssuer.start();
  let database: TestDatabase | undefined;
  if (db === 'postgres') database = await createTestDatabase();
  const appEnv: Record<string, string> = {
    PORT: '0',
    BASE_URL,
    DATA_DIR: 'memory://',
    OAUTH_ISSUER: issuer.url,
    LOG_LEVEL: 'silent',
    // Tests reach the app as 127.0.0.1; its public name is BASE_URL's bulwark.test.
    ALLOWED_HOSTS: '127.0.0.1',
    ...(database
      ? { DATABASE_URL: database.url, ENCRYPTION_KEY: randomBytes(32).toString('base64') }
      : {}),
    ...env,
  };
  const app = await createApp(loadConfig(appEnv));
  await app.listen(0, '127.0.0.1');
  // The provider's metadata is fetched once the server listens; /mcp answers 503 until then.
  await app.get(OAuthUpstream).ready();
  const server = app.getHttpServer() as Server;
  return {
    app,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    issuer,
    dataSource: app.get(DataSource),
    env: appEnv,
    async close() {
      await app.close();
      await issuer.stop();
      await database?.drop();
    },
  };
}

/** Row counts of every table, to prove a failed request changed nothing. */
export async function rowCounts(dataSource: DataSource): Promise<Record<string, number>> {
  const [row] = await dataSource.query<Record<string, number>[]>(
    `SELECT (SELECT count(*) FROM teams)::int AS teams,
            (SELECT count(*) FROM memberships)::int AS memberships,
            (SELECT count(*) FROM sites)::int AS sites,
            (SELECT count(*) FROM rules)::int AS rules,
            (SELECT count(*) FROM audit_entries)::int AS audit`,
  );
  return row;
}
