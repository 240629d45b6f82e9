import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Local users of the built-in authorization server, and the authorization server's own records
 * (clients, grants, sessions, interactions, codes, refresh tokens) so that a restart keeps every
 * registration and login. Access tokens are self-contained JWTs and are not stored.
 */
export class UsersAndOAuth1764720000000 implements MigrationInterface {
  name = 'UsersAndOAuth1764720000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id text PRIMARY KEY,
        email text NOT NULL,
        password_hash text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        password_changed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`);
    await q.query(`
      CREATE TABLE oauth_records (
        model text NOT NULL,
        id text NOT NULL,
        payload jsonb NOT NULL,
        grant_id text,
        uid text,
        user_code text,
        expires_at timestamptz,
        consumed_at timestamptz,
        PRIMARY KEY (model, id)
      )`);
    await q.query(
      `CREATE INDEX oauth_records_grant ON oauth_records (grant_id) WHERE grant_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX oauth_records_uid ON oauth_records (uid) WHERE uid IS NOT NULL`);
    await q.query(
      `CREATE INDEX oauth_records_user_code ON oauth_records (user_code) WHERE user_code IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX oauth_records_expiry ON oauth_records (expires_at) WHERE expires_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE oauth_records`);
    await q.query(`DROP TABLE users`);
  }
}
