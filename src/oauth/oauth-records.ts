import type { Adapter, AdapterPayload } from 'oidc-provider';
import { DataSource } from 'typeorm';

type Row = { payload: AdapterPayload; consumed_at: Date | null };

/**
 * oidc-provider's storage in the relational store (table `oauth_records`, one row per model and
 * id), so registered clients, grants, sessions and refresh tokens survive a restart and are
 * shared by every instance on one PostgreSQL. Expired rows are invisible at once and deleted by
 * `sweep`.
 */
export class OAuthRecords {
  constructor(private readonly dataSource: DataSource) {}

  /** The adapter oidc-provider instantiates once per model (Client, Grant, Session...). */
  adapterFor(model: string): Adapter {
    const ds = this.dataSource;
    const findOne = async (where: string, value: string) => {
      const rows = await ds.query<Row[]>(
        `SELECT payload, consumed_at FROM oauth_records
          WHERE model = $1 AND ${where} = $2 AND (expires_at IS NULL OR expires_at > now())`,
        [model, value],
      );
      const row = rows[0];
      if (!row) return undefined;
      return row.consumed_at
        ? { ...row.payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) }
        : row.payload;
    };
    return {
      async upsert(id, payload, expiresIn) {
        await ds.query(
          `INSERT INTO oauth_records (model, id, payload, grant_id, uid, user_code, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6,
                   CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
           ON CONFLICT (model, id) DO UPDATE
             SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, uid = EXCLUDED.uid,
                 user_code = EXCLUDED.user_code, expires_at = EXCLUDED.expires_at`,
          [
            model,
            id,
            JSON.stringify(payload),
            payload.grantId ?? null,
            payload.uid ?? null,
            payload.userCode ?? null,
            expiresIn ?? null,
          ],
        );
      },
      find: (id) => findOne('id', id),
      findByUid: (uid) => findOne('uid', uid),
      findByUserCode: (userCode) => findOne('user_code', userCode),
      async consume(id) {
        await ds.query(
          `UPDATE oauth_records SET consumed_at = now() WHERE model = $1 AND id = $2`,
          [model, id],
        );
      },
      async destroy(id) {
        await ds.query(`DELETE FROM oauth_records WHERE model = $1 AND id = $2`, [model, id]);
      },
      async revokeByGrantId(grantId) {
        // Every token, code and session of the grant, whatever its model.
        await ds.query(`DELETE FROM oauth_records WHERE grant_id = $1`, [grantId]);
      },
    };
  }

  /** Deletes expired rows; returns how many. */
  async sweep(): Promise<number> {
    const result = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM oauth_records WHERE expires_at <= now()`,
    );
    return Array.isArray(result) ? Number(result[1] ?? 0) : 0;
  }
}
