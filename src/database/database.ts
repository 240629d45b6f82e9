import { DataSource } from 'typeorm';
import { AuditEntryEntity } from '../audit/audit-entry.entity';
import { RuleEntity } from '../rules/rule.entity';
import { SiteEntity } from '../sites/site.entity';
import { MembershipEntity } from '../teams/membership.entity';
import { TeamEntity } from '../teams/team.entity';
import { EmbeddedPostgres } from './embedded-postgres';
import { InitialSchema1764028800000 } from './migrations/1764028800000-initial-schema';
import { SiteRulesVersion1764633600000 } from './migrations/1764633600000-site-rules-version';
import { UsersAndOAuth1764720000000 } from './migrations/1764720000000-users-and-oauth';
import { UserEntity } from '../users/user.entity';

export const ENTITIES = [
  TeamEntity,
  MembershipEntity,
  SiteEntity,
  RuleEntity,
  AuditEntryEntity,
  UserEntity,
];
export const MIGRATIONS = [
  InitialSchema1764028800000,
  SiteRulesVersion1764633600000,
  UsersAndOAuth1764720000000,
];

/** Arbitrary constant: instances starting together run migrations one at a time. */
const MIGRATION_LOCK = 4_242_001;

export interface DatabaseHandle {
  dataSource: DataSource;
  embedded?: EmbeddedPostgres;
  close(): Promise<void>;
}

/**
 * Connects to PostgreSQL at `databaseUrl`, or starts embedded PGlite under `dataDir` when there
 * is none, and brings the schema up to date with the same migrations in both cases. Schema
 * changes only ever happen through migrations: `synchronize` stays off.
 */
export async function openDatabase(opts: {
  databaseUrl?: string;
  /** Directory for PGlite's files, or `memory://`. */
  dataDir: string;
  runMigrations?: boolean;
  /** An embedded database already being opened (start-up overlaps it with loading code). */
  embedded?: Promise<EmbeddedPostgres>;
}): Promise<DatabaseHandle> {
  const embedded = opts.databaseUrl
    ? undefined
    : await (opts.embedded ?? EmbeddedPostgres.start(opts.dataDir));
  const dataSource = new DataSource({
    type: 'postgres',
    url: opts.databaseUrl ?? embedded!.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    extra: {
      max: embedded ? EmbeddedPostgres.poolSize : 10,
      // A query waiting this long for a connection is a bug (a query outside its transaction on
      // the one embedded connection); fail loudly instead of hanging.
      connectionTimeoutMillis: 10_000,
    },
  });
  try {
    await dataSource.initialize();
    if (opts.runMigrations !== false) await migrate(dataSource, !embedded);
  } catch (error) {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
    throw error;
  }
  return {
    dataSource,
    embedded,
    async close() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await embedded?.stop();
    },
  };
}

/** Applies pending migrations; on a shared server, under an advisory lock. */
export async function migrate(dataSource: DataSource, lock: boolean): Promise<string[]> {
  if (!lock) return (await dataSource.runMigrations()).map((m) => m.name);
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    return (await dataSource.runMigrations()).map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
