import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import { DataSource } from 'typeorm';

type Row = { payload: AdapterPayload; consumed_at: Date | null };

/**
 * How long a dynamically registered client is kept without a grant. MCP clients register and
 * send the user to sign in at once, so a client nobody has approved in a week is abandoned (or
 * one of many registered by a script); once a user approves it, it is kept like before.
 */
export const UNUSED_CLIENT_TTL_SECONDS = 7 * 24 * 60 * 60;

/** What a single-use record is called in the error when it is used twice. */
const SINGLE_USE_LABELS: Record<string, string> = {
  AuthorizationCode: 'authorization code',
  RefreshToken: 'refresh token',
  DeviceCode: 'device code',
  BackchannelAuthenticationRequest: 'backchannel authentication request',
  PreAuthorizedCode: 'pre-authorized code',
};

/**
 * oidc-provider's storage in the relational store (table `oauth_records`, one row per model and
 * id), so registered clients, grants, sessions and refresh tokens survive a restart and are
 * shared by every instance on one PostgreSQL. Expired rows are invisible at once and deleted by
 * `sweep`. oidc-provider gives clients no expiry; here a client expires
 * `UNUSED_CLIENT_TTL_SECONDS` after registration unless a grant for it is saved first, so
 * registrations nobody uses do not pile up.
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
        const client = model === 'Client';
        // A client saved again keeps its expiry: cleared if it has been granted, else the one
        // its registration set.
        await ds.query(
          `INSERT INTO oauth_records (model, id, payload, grant_id, uid, user_code, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6,
                   CASE WHEN $7::int IS NULL THEN NULL ELSE now() + make_interval(secs => $7::int) END)
           ON CONFLICT (model, id) DO UPDATE
             SET payload = EXCLUDED.payload, grant_id = EXCLUDED.grant_id, uid = EXCLUDED.uid,
                 user_code = EXCLUDED.user_code,
                 expires_at = CASE WHEN $8::boolean THEN oauth_records.expires_at
                                   ELSE EXCLUDED.expires_at END`,
          [
            model,
            id,
            JSON.stringify(payload),
            payload.grantId ?? null,
            payload.uid ?? null,
            payload.userCode ?? null,
            expiresIn ?? (client ? UNUSED_CLIENT_TTL_SECONDS : null),
            client,
          ],
        );
        // A user approved the client: it is in use and no longer expires.
        if (model === 'Grant' && typeof payload.clientId === 'string') {
          await ds.query(
            `UPDATE oauth_records SET expires_at = NULL
              WHERE model = 'Client' AND id = $1 AND expires_at IS NOT NULL`,
            [payload.clientId],
          );
        }
      },
      find: (id) => findOne('id', id),
      findByUid: (uid) => findOne('uid', uid),
      findByUserCode: (userCode) => findOne('user_code', userCode),
      async consume(id) {
        // oidc-provider refuses a code or refresh token already marked consumed, but two parallel
        // requests both read it unconsumed before either marks it. The mark is therefore
        // conditional: of parallel consumers exactly one updates the row (PostgreSQL re-checks
        // the condition after waiting for the other's row lock).
        const [result] = await ds.query<{ claimed: number; grant_id: string | null }[]>(
          `WITH claimed AS (
             UPDATE oauth_records SET consumed_at = now()
              WHERE model = $1 AND id = $2 AND consumed_at IS NULL
             RETURNING id)
           SELECT (SELECT count(*) FROM claimed)::int AS claimed,
                  (SELECT grant_id FROM oauth_records WHERE model = $1 AND id = $2) AS grant_id`,
          [model, id],
        );
        if (result.claimed > 0) return;
        // Losing the race is reuse, handled as oidc-provider handles a sequential one (RFC 6749
        // §4.1.2, RFC 9700 §4.14.2): reuse means the value leaked, so the whole grant is revoked
        // (its codes, refresh tokens and the grant itself; tokens the winner is issuing die with
        // it, since a refresh needs the grant) and the request fails with invalid_grant.
        if (result.grant_id) {
          await ds.query(
            `DELETE FROM oauth_records
              WHERE grant_id = $1 OR (model = 'Grant' AND id = $1)`,
            [result.grant_id],
          );
        }
        if (model === 'PushedAuthorizationRequest') {
          throw new errors.InvalidRequestUri('request_uri was already used');
        }
        throw new errors.InvalidGrant(`${SINGLE_USE_LABELS[model] ?? model} already used`);
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

  /** Deletes expired rows (unused clients among them); returns how many. */
  async sweep(): Promise<number> {
    const result = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM oauth_records WHERE expires_at <= now()`,
    );
    return Array.isArray(result) ? Number(result[1] ?? 0) : 0;
  }
}
