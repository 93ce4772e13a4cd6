import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

/**
 * oidc-provider artifacts keyed by the SHA-256 (base64url) of their id instead of the id, which
 * is the token, code or session cookie itself: `id`, `grant_id` and `user_code` are hashed, and
 * the copies of those values inside payloads are dropped (`jti`, a DeviceCode's `userCode`, an
 * Interaction's `session.cookie`), so everything issued before keeps working and nothing in the
 * table does on its own. A DeviceCode keeps its `jti` (it is found by user code and saved back
 * under it), as do an Interaction's `deviceCode` and `parJti` references; the running server
 * seals such values from now on, and these rows expire within the hour.
 *
 * Payloads may hold any JavaScript string (\u0000 included, which Postgres' JSON functions
 * refuse), so the rewrite is done here rather than in SQL, a batch at a time from a copy of the
 * rows as they were.
 */
const BATCH = 500;

interface Row {
  type: string;
  id: string;
  payload: Record<string, unknown> | string;
  grant_id: string | null;
  user_code: string | null;
}

const hash = (value: string) => createHash('sha256').update(value).digest('base64url');

function strip(type: string, payload: Record<string, unknown>): Record<string, unknown> {
  const stored = { ...payload };
  if (type === 'DeviceCode') delete stored.userCode;
  else delete stored.jti;
  if (type === 'Interaction' && typeof stored.session === 'object' && stored.session !== null) {
    const { cookie: _cookie, ...session } = stored.session as Record<string, unknown>;
    stored.session = session;
  }
  return stored;
}

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create temporary table oidc_payloads_to_hash as select type, id, payload, grant_id, user_code from oidc_payloads`.execute(
    db,
  );
  for (;;) {
    const { rows } = await sql<Row>`
      delete from oidc_payloads_to_hash
      where ctid in (select ctid from oidc_payloads_to_hash limit ${BATCH})
      returning type, id, payload, grant_id, user_code`.execute(db);
    if (rows.length === 0) break;
    for (const row of rows) {
      const { type, id } = row;
      const payload = typeof row.payload === 'string' ? JSON.parse(row.payload) : row.payload;
      await db
        .updateTable('oidc_payloads')
        .set({
          id: hash(id),
          grant_id: row.grant_id === null ? null : hash(row.grant_id),
          user_code: row.user_code === null ? null : hash(row.user_code),
          payload: JSON.stringify(strip(type, payload)),
        })
        .where('type', '=', type)
        .where('id', '=', id)
        .execute();
    }
  }
  await sql`drop table oidc_payloads_to_hash`.execute(db);
}

/** Hashes cannot be turned back into ids: going back signs everyone out and ends every grant. */
export async function down(db: Kysely<any>): Promise<void> {
  await db.deleteFrom('oidc_payloads').execute();
}
