import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1764028800000 implements MigrationInterface {
  name = 'InitialSchema1764028800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE teams (
        id text PRIMARY KEY,
        name text NOT NULL,
        plan text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'pro', 'enterprise')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE memberships (
        id text PRIMARY KEY,
        team_id text NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        subject text,
        email text,
        role text NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (subject IS NOT NULL OR email IS NOT NULL)
      )`);
    await q.query(
      `CREATE UNIQUE INDEX memberships_team_subject ON memberships (team_id, subject) WHERE subject IS NOT NULL`,
    );
    await q.query(
      `CREATE UNIQUE INDEX memberships_team_email ON memberships (team_id, email) WHERE email IS NOT NULL`,
    );
    await q.query(`CREATE INDEX memberships_subject ON memberships (subject)`);
    await q.query(
      `CREATE INDEX memberships_pending_email ON memberships (email) WHERE subject IS NULL`,
    );
    await q.query(`
      CREATE TABLE sites (
        id text PRIMARY KEY,
        team_id text NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
        name text NOT NULL,
        domain text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        key_ciphertext text NOT NULL,
        key_last4 text NOT NULL,
        key_rotated_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX sites_team ON sites (team_id, id)`);
    await q.query(`
      CREATE TABLE rules (
        id text PRIMARY KEY,
        site_id text NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
        name text NOT NULL,
        type text NOT NULL CHECK (type IN ('shield', 'rate_limit', 'bot', 'filter', 'email')),
        mode text NOT NULL CHECK (mode IN ('DRY_RUN', 'LIVE')),
        config jsonb NOT NULL,
        created_by text NOT NULL,
        updated_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX rules_site ON rules (site_id, id)`);
    await q.query(`
      CREATE TABLE audit_entries (
        id text PRIMARY KEY,
        -- No foreign key: the trail outlives the team, so a deleted team's history stays on disk.
        team_id text NOT NULL,
        actor_subject text NOT NULL,
        actor_email text,
        client_id text,
        via text NOT NULL CHECK (via IN ('rest', 'mcp', 'cli')),
        action text NOT NULL,
        resource_type text NOT NULL,
        resource_id text NOT NULL,
        before jsonb,
        after jsonb,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX audit_entries_team ON audit_entries (team_id, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_entries`);
    await q.query(`DROP TABLE rules`);
    await q.query(`DROP TABLE sites`);
    await q.query(`DROP TABLE memberships`);
    await q.query(`DROP TABLE teams`);
  }
}
