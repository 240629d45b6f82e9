import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `sites.rules_version` counts changes to a site's rules and key. The decide path on a shared
 * database reads it with the key lookup on every decision, so a change made through any instance
 * is seen by the very next decision on every other one.
 */
export class SiteRulesVersion1764633600000 implements MigrationInterface {
  name = 'SiteRulesVersion1764633600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sites ADD COLUMN rules_version bigint NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sites DROP COLUMN rules_version`);
  }
}
