import { type Insertable, sql } from 'kysely';
import { type KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { numberedValues, preparedQueryPerCount } from '../db/prepared-query.ts';
import type { OidcPayloadsTable } from '../db/schema.ts';
import { artifactKey } from './artifact-key.ts';
import { revokeReusedGrant } from './grant-reuse.ts';
import type { Sealer } from './stored-payload.ts';

/**
 * Refresh token rotation as one write. oidc-provider's refresh_token grant consumes the presented
 * token, then saves its successor and the access token in separate writes; a database dropping in
 * between would leave the old token spent and the client, retrying it after the 503, signed out
 * by reuse detection. Rules this file enforces:
 * - in a refresh_token request, consuming the refresh token writes nothing: the library found it
 *   live and unused in this request, and the spend is held on the request, with every artifact
 *   the request then saves for the same grant;
 * - once the endpoint has answered 200, one statement spends the old token and writes the held
 *   rows, and writes them only if it spent it: a request that fails, or a database gone mid-way,
 *   leaves the old token usable and nothing half-written;
 * - the client's grace window: the statement that spends a token keeps its successor sealed on
 *   the spent row until `grace_until`. A request presenting that token again before then (another
 *   tab, a lost answer retried, or a loser of a race) answers with that same successor and keeps
 *   the grant: its own successor is never written, its access token is;
 * - a request whose spend finds the token already spent and out of its window lost a race with
 *   another use: the grant is revoked and the answer becomes `invalid_grant`, as for any reuse.
 *   Of any number of concurrent uses, at most one chain of refresh tokens lives;
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
  clientId: string;
  rows: Row[];
  /** The new refresh token's value, kept sealed on the spent row for the client's grace window. */
  successor?: string;
  /** Presented again within its window: the sealed successor this request answers with. */
  replay?: string;
}

const held = new WeakMap<object, HeldRotation>();
/** Per request: a spent token found within its grace window, by key, with its sealed successor. */
const graceReplays = new WeakMap<object, { tokenKey: string; sealedSuccessor: string }>();

/** The current request when it is a refresh_token grant at the token endpoint. */
function rotatingRequest(): KoaContextWithOIDC | undefined {
  const ctx = Provider.ctx;
  if (ctx?.oidc?.route !== 'token' || ctx.oidc.params?.grant_type !== 'refresh_token') return undefined;
  return ctx;
}

/** Whether a refresh token found or consumed now is being rotated by a token request. */
export function inRefreshRotation(): boolean {
  return rotatingRequest() !== undefined;
}

/** Notes a spent token found within its grace window: its rotation answers with `sealedSuccessor`. */
export function noteGraceReplay(tokenKey: string, sealedSuccessor: string): void {
  const ctx = rotatingRequest();
  if (ctx) graceReplays.set(ctx, { tokenKey, sealedSuccessor });
}

/**
 * Holds the spend of the refresh token `id` until the request answers; false outside a rotation.
 * The library consumes only the token it found live and unused in this request (its entity).
 */
export function holdSpend(id: string): boolean {
  const ctx = rotatingRequest();
  const token = ctx?.oidc.entities.RefreshToken;
  if (!ctx || token?.jti !== id || typeof token.grantId !== 'string' || typeof token.clientId !== 'string')
    return false;
  const tokenKey = artifactKey(id);
  const replay = graceReplays.get(ctx);
  held.set(ctx, {
    tokenKey,
    grantId: token.grantId,
    clientId: token.clientId,
    rows: [],
    ...(replay?.tokenKey === tokenKey ? { replay: replay.sealedSuccessor } : {}),
  });
  return true;
}

/**
 * Holds a row saved for the grant being rotated, to be written with the spend; false when there
 * is none. `value` is the artifact's id, which only a refresh token's successor needs kept.
 */
export function holdRow(row: Row, grantId: string | undefined, value: string): boolean {
  const ctx = Provider.ctx;
  const rotation = ctx && held.get(ctx);
  if (!rotation || rotation.grantId !== grantId) return false;
  // Saved again: the last save wins, as an upsert would.
  rotation.rows = [...rotation.rows.filter((r) => r.type !== row.type || r.id !== row.id), row];
  if (row.type === 'RefreshToken') rotation.successor = value;
  return true;
}

interface RotationOptions {
  sealer: Sealer;
  /** The client's grace window in seconds (0: none). */
  graceSeconds(clientId: string): Promise<number>;
}

/** `provider.use` it: writes each held rotation when its request succeeded, or answers reuse. */
export function commitRotations(db: Db, options: RotationOptions) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const rotation = held.get(ctx);
    if (!rotation) return;
    held.delete(ctx);
    if (ctx.status !== 200) return;
    const outcome = rotation.replay ?? (await settle(db, rotation, await sealedSuccessor(rotation, options)));
    if (outcome === true) return;
    const successor = typeof outcome === 'string' ? open(options.sealer, outcome) : undefined;
    if (successor !== undefined) {
      await writeRows(
        db,
        rotation.rows.filter((r) => r.type !== 'RefreshToken'),
      );
      (ctx.body as Record<string, unknown>).refresh_token = successor;
      return;
    }
    await revokeReusedGrant(db, rotation.grantId, ctx);
    ctx.status = 400;
    ctx.body = { error: 'invalid_grant', error_description: 'grant request is invalid' };
  };
}

/** What the spend keeps on the spent row: the successor sealed, and until when; nothing without a window. */
async function sealedSuccessor(rotation: HeldRotation, { sealer, graceSeconds }: RotationOptions) {
  const seconds = rotation.successor ? await graceSeconds(rotation.clientId) : 0;
  if (!rotation.successor || seconds <= 0) return undefined;
  return { sealed: sealer.encrypt(rotation.successor), until: new Date(Date.now() + seconds * 1000) };
}

function open(sealer: Sealer, sealed: string): string | undefined {
  try {
    return sealer.decrypt(sealed);
  } catch {
    // Sealed under a key no longer configured: a reuse like any other.
    return undefined;
  }
}

/** How long a request keeps asking whether its rotation was applied, and how often. */
const SETTLE_WITHIN_MS = 2_000;
const SETTLE_PAUSE_MS = 200;

type Kept = { sealed: string; until: Date } | undefined;

/**
 * Whether this request's rotation is applied (written now, or by an attempt whose answer was
 * lost): true; or else the sealed successor of the use that spent it, within its window.
 */
async function settle(db: Db, rotation: HeldRotation, kept: Kept): Promise<true | string | undefined> {
  const started = Date.now();
  for (;;) {
    try {
      if (await spendAndWrite(db, rotation, kept)) return true;
      // A separate statement, so that it sees what committed while the spend waited for the row.
      return await spentBy(db, rotation);
    } catch (err) {
      if (Date.now() - started >= SETTLE_WITHIN_MS) throw err;
      await new Promise((resolve) => setTimeout(resolve, SETTLE_PAUSE_MS));
    }
  }
}

/** Spent already: by an earlier attempt of this request if its successor exists, or by another use. */
async function spentBy(db: Db, { tokenKey, rows }: HeldRotation): Promise<true | string | undefined> {
  const ours = rows.find((r) => r.type === 'RefreshToken')?.id ?? '';
  const { rows: answer } = await sql<{ ours: boolean; successor: string | null }>`
    select
      exists (select 1 from oidc_payloads where type = 'RefreshToken' and id = ${ours}) as ours,
      (select successor from oidc_payloads
        where type = 'RefreshToken' and id = ${tokenKey} and grace_until > ${new Date()}) as successor`.execute(db);
  const [found] = answer;
  if (found?.ours) return true;
  return found?.successor ?? undefined;
}

const valuesOf = (rows: Row[]) =>
  rows.map(
    (r) =>
      sql`(${r.type}, ${r.id}, ${r.payload}::json, ${r.grant_id ?? null}, ${r.user_code ?? null}, ${r.uid ?? null}, ${r.account_id ?? null}, ${r.expires_at ?? null}::timestamptz)`,
  );

const UPSERT = sql`
  on conflict (type, id) do update set
    payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
    uid = excluded.uid, account_id = excluded.account_id, expires_at = excluded.expires_at`;

/** The rows of a grace replay (its access token), written whatever happened to the token. */
async function writeRows(db: Db, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  await sql`
    insert into oidc_payloads (type, id, payload, grant_id, user_code, uid, account_id, expires_at)
    values ${sql.join(valuesOf(rows))}
    ${UPSERT}`.execute(db);
}

/** One statement: spends the token if still unused and, only then, writes the held rows. Answers whether it spent. */
async function spendAndWrite(db: Db, { tokenKey, rows }: HeldRotation, kept: Kept): Promise<boolean> {
  const values = {
    now: new Date(),
    successor: kept?.sealed ?? null,
    until: kept?.until ?? null,
    tokenKey,
    ...numberedValues(rows, (r) => Object.fromEntries(ROW_COLUMNS.map((column) => [column, r[column] ?? null]))),
  };
  const [answer] = await spendAndWriteRows(rows.length)(db, values);
  return answer?.spent === true;
}

const ROW_COLUMNS = ['type', 'id', 'payload', 'grant_id', 'user_code', 'uid', 'account_id', 'expires_at'] as const;

/** The spend statement for each number of held rows, compiled once per count (db/prepared-query.ts). */
const spendAndWriteRows = preparedQueryPerCount((count: number) => (_db: Db, v: Record<string, unknown>) => {
  const spend = sql`
      update oidc_payloads
      set consumed_at = ${v.now}, successor = ${v.successor}, grace_until = ${v.until}
      where type = 'RefreshToken' and id = ${v.tokenKey} and consumed_at is null
      returning 1`;
  const held = Array.from(
    { length: count },
    (_, i) =>
      sql`(${v[`type${i}`]}, ${v[`id${i}`]}, ${v[`payload${i}`]}::json, ${v[`grant_id${i}`]}, ${v[`user_code${i}`]}, ${v[`uid${i}`]}, ${v[`account_id${i}`]}, ${v[`expires_at${i}`]}::timestamptz)`,
  );
  const write =
    count === 0
      ? sql``
      : sql`, written as (
            insert into oidc_payloads (type, id, payload, grant_id, user_code, uid, account_id, expires_at)
            select * from (values ${sql.join(held)}) as v (type, id, payload, grant_id, user_code, uid, account_id, expires_at)
            where exists (select 1 from spent)
            ${UPSERT}
          )`;
  return sql<{ spent: boolean }>`
      with spent as (${spend})${write}
      select exists (select 1 from spent) as spent`;
});
