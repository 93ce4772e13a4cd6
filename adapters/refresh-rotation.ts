import { type Insertable, sql } from 'kysely';
import { type KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import type { OidcPayloadsTable } from '../db/schema.ts';
import { revokeReusedGrant } from './grant-reuse.ts';

/**
 * Refresh token rotation as one write. oidc-provider's refresh_token grant consumes the presented
 * token, then saves its successor and the access token in separate writes; a database dropping in
 * between would leave the old token spent and the client, retrying it after the 503, signed out
 * by reuse detection. Rules this file enforces:
 * - in a refresh_token request, consuming the refresh token only checks that it is live and
 *   unused (the adapter fails closed as for any reuse when it is not); the spend is held on the
 *   request, with every artifact the request then saves for the same grant;
 * - once the endpoint has answered 200, one statement spends the old token and writes the held
 *   rows, and writes them only if it spent it: a request that fails, or a database gone mid-way,
 *   leaves the old token usable and nothing half-written;
 * - a request whose spend finds the token already spent lost a race with another use: the grant
 *   is revoked and the answer becomes `invalid_grant`, as for any reuse. Of any number of
 *   concurrent uses, at most one keeps its tokens;
 * - a statement whose answer never came (the connection dropped) may still have been applied:
 *   before answering, the request asks again until the database answers or a bound passes, so a
 *   client is not told 503 for a rotation that happened, then signed out for retrying it. The
 *   statement is idempotent, and its successor's key says whether it was this request that spent.
 * Held writes are written only by `commitRotations`, which must be `provider.use`d.
 */
type Row = Insertable<OidcPayloadsTable> & { type: string; id: string };

interface HeldRotation {
  /** The stored key of the refresh token being rotated. */
  tokenKey: string;
  grantId: string;
  rows: Row[];
}

const held = new WeakMap<object, HeldRotation>();

/** The current request when it is a refresh_token grant at the token endpoint. */
function rotatingRequest(): KoaContextWithOIDC | undefined {
  const ctx = Provider.ctx;
  if (ctx?.oidc?.route !== 'token' || ctx.oidc.params?.grant_type !== 'refresh_token') return undefined;
  return ctx;
}

/** Whether a refresh token consumed now is being rotated by a token request. */
export function inRefreshRotation(): boolean {
  return rotatingRequest() !== undefined;
}

/** Holds the spend of a live refresh token until the request answers; false outside a rotation. */
export function holdSpend(tokenKey: string, grantId: string): boolean {
  const ctx = rotatingRequest();
  if (!ctx) return false;
  held.set(ctx, { tokenKey, grantId, rows: [] });
  return true;
}

/** Holds a row saved for the grant being rotated, to be written with the spend; false when there is none. */
export function holdRow(row: Row, grantId: string | undefined): boolean {
  const ctx = Provider.ctx;
  const rotation = ctx && held.get(ctx);
  if (!rotation || rotation.grantId !== grantId) return false;
  // Saved again: the last save wins, as an upsert would.
  rotation.rows = [...rotation.rows.filter((r) => r.type !== row.type || r.id !== row.id), row];
  return true;
}

/** `provider.use` it: writes each held rotation when its request succeeded, or answers reuse. */
export function commitRotations(db: Db) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const rotation = held.get(ctx);
    if (!rotation) return;
    held.delete(ctx);
    if (ctx.status !== 200) return;
    if (await settle(db, rotation)) return;
    await revokeReusedGrant(db, rotation.grantId, ctx);
    ctx.status = 400;
    ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
  };
}

/** How long a request keeps asking whether its rotation was applied, and how often. */
const SETTLE_WITHIN_MS = 2_000;
const SETTLE_PAUSE_MS = 200;

/** Whether this request's rotation is applied: written now, or by an attempt whose answer was lost. */
async function settle(db: Db, rotation: HeldRotation): Promise<boolean> {
  const started = Date.now();
  for (;;) {
    try {
      if (await spendAndWrite(db, rotation)) return true;
      // Spent already: by an earlier attempt of this request if its successor exists. A separate
      // statement, so that it sees what committed while the spend waited for the row.
      return await successorWritten(db, rotation);
    } catch (err) {
      if (Date.now() - started >= SETTLE_WITHIN_MS) throw err;
      await new Promise((resolve) => setTimeout(resolve, SETTLE_PAUSE_MS));
    }
  }
}

async function successorWritten(db: Db, { rows }: HeldRotation): Promise<boolean> {
  const successor = rows.find((r) => r.type === 'RefreshToken');
  if (!successor) return false;
  const row = await db
    .selectFrom('oidc_payloads')
    .select('id')
    .where('type', '=', successor.type)
    .where('id', '=', successor.id)
    .executeTakeFirst();
  return row !== undefined;
}

/** One statement: spends the token if still unused and, only then, writes the held rows. Answers whether it spent. */
async function spendAndWrite(db: Db, { tokenKey, rows }: HeldRotation): Promise<boolean> {
  const spend = sql`
    update oidc_payloads set consumed_at = ${new Date()}
    where type = 'RefreshToken' and id = ${tokenKey} and consumed_at is null
    returning 1`;
  const values = rows.map(
    (r) =>
      sql`(${r.type}, ${r.id}, ${r.payload}::json, ${r.grant_id ?? null}, ${r.user_code ?? null}, ${r.uid ?? null}, ${r.account_id ?? null}, ${r.expires_at ?? null}::timestamptz)`,
  );
  const write =
    values.length === 0
      ? sql``
      : sql`, written as (
          insert into oidc_payloads (type, id, payload, grant_id, user_code, uid, account_id, expires_at)
          select * from (values ${sql.join(values)}) as v (type, id, payload, grant_id, user_code, uid, account_id, expires_at)
          where exists (select 1 from spent)
          on conflict (type, id) do update set
            payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
            uid = excluded.uid, account_id = excluded.account_id, expires_at = excluded.expires_at
        )`;
  const { rows: answer } = await sql<{ spent: boolean }>`
    with spent as (${spend})${write}
    select exists (select 1 from spent) as spent`.execute(db);
  return answer[0]?.spent === true;
}
