import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { artifactKey } from './artifact-key.ts';
import { revokeGrantOfReusedRow } from './grant-reuse.ts';
import { holdRow, holdSpend, inRefreshRotation } from './refresh-rotation.ts';
import { fromStored, type Sealer, toStored } from './stored-payload.ts';

/**
 * oidc-provider's artifacts in one table, one row per (model, id). Rules this file enforces:
 * - a row's key is the hash of its id (artifact-key.ts), and `user_code` the hash of the user
 *   code: the table holds no working token, code or session cookie (stored-payload.ts strips the
 *   copies in payloads). `grant_id` is hashed too, so it matches the key of its Grant's row;
 * - a row past `expires_at` is never returned, even before the sweep deletes it;
 * - `consume` is one conditional update, so of any number of concurrent uses of a code or refresh
 *   token exactly one wins. The others are reuse, as if they had come after it: the whole grant
 *   is revoked and the request fails with `invalid_grant`. No grace period: `find` reports a
 *   consumed row as consumed, so a rotated refresh token presented again revokes its grant;
 * - a refresh token rotated at the token endpoint is spent in the same statement that writes its
 *   successor and access token, when the request has succeeded (refresh-rotation.ts): a request
 *   that fails half-way leaves the old token usable;
 * - a ReplayDetection row (a client assertion's or DPoP proof's jti) is only ever inserted: of
 *   any number of concurrent uses of one such JWT, exactly one is stored, the others throw
 *   AlreadySeen, which server/oidc/replay-detection.ts turns into the library's "replayed";
 * - uid and accountId are copied into columns so lookups by them use an index.
 * Clients are not stored here: they come from the `clients` table through `clientsFromCatalog` in server/oidc/provider.ts.
 */

type Lookup = 'id' | 'uid' | 'user_code';

const REPLAY_DETECTION = 'ReplayDetection';

/** A ReplayDetection row that exists already: the JWT it stands for was used before. */
export class AlreadySeen extends Error {
  override name = 'AlreadySeen';
}

export function payloadAdapter(db: Db, sealer: Sealer) {
  return class PayloadAdapter implements Adapter {
    readonly type: string;
    constructor(type: string) {
      this.type = type;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number | undefined): Promise<void> {
      const row = {
        type: this.type,
        id: artifactKey(id),
        payload: JSON.stringify(toStored(this.type, payload, sealer)),
        grant_id: payload.grantId ? artifactKey(payload.grantId) : null,
        user_code: payload.userCode ? artifactKey(payload.userCode) : null,
        uid: payload.uid ?? null,
        account_id: payload.accountId ?? null,
        // 0 is a lifetime that has run out, not a missing one.
        expires_at: typeof expiresIn === 'number' ? new Date(Date.now() + expiresIn * 1000) : null,
      };
      if (holdRow(row, payload.grantId)) return;
      const { type: _type, id: _id, ...columns } = row;
      if (this.type === REPLAY_DETECTION) {
        // Insert only: a live row with this key means the JWT was seen already (replay-detection.ts).
        const inserted = await db
          .insertInto('oidc_payloads')
          .values(row)
          .onConflict((oc) =>
            oc.columns(['type', 'id']).doUpdateSet(columns).where('oidc_payloads.expires_at', '<=', new Date()),
          )
          .returning('id')
          .executeTakeFirst();
        if (!inserted) throw new AlreadySeen();
        return;
      }
      await db
        .insertInto('oidc_payloads')
        .values(row)
        .onConflict((oc) => oc.columns(['type', 'id']).doUpdateSet(columns))
        .execute();
    }

    find(id: string) {
      return this.findBy('id', artifactKey(id), { jti: id });
    }

    // A Session found by uid comes back without its id, which only the cookie holds; the library
    // only reads such a session (its account and grants), it never saves it.
    findByUid(uid: string) {
      return this.findBy('uid', uid, {});
    }

    findByUserCode(userCode: string) {
      return this.findBy('user_code', artifactKey(userCode), { userCode });
    }

    async consume(id: string): Promise<void> {
      const key = artifactKey(id);
      if (this.type === 'RefreshToken' && inRefreshRotation() && (await this.holdRotation(key))) return;
      const won = await db
        .updateTable('oidc_payloads')
        .set({ consumed_at: new Date() })
        .where('type', '=', this.type)
        .where('id', '=', key)
        .where('consumed_at', 'is', null)
        .returning('id')
        .executeTakeFirst();
      if (won) return;
      if (this.type === 'PushedAuthorizationRequest') {
        throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
      }
      await revokeGrantOfReusedRow(db, this.type, key);
      throw new errors.InvalidGrant(`${this.type} already used`);
    }

    async destroy(id: string): Promise<void> {
      await db.deleteFrom('oidc_payloads').where('type', '=', this.type).where('id', '=', artifactKey(id)).execute();
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await db
        .deleteFrom('oidc_payloads')
        .where('type', '=', this.type)
        .where('grant_id', '=', artifactKey(grantId))
        .execute();
    }

    /** A live, unused refresh token being rotated: its spend is held for the request's last write. */
    private async holdRotation(key: string): Promise<boolean> {
      const row = await db
        .selectFrom('oidc_payloads')
        .select('payload')
        .where('type', '=', this.type)
        .where('id', '=', key)
        .where('consumed_at', 'is', null)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
        .executeTakeFirst();
      const grantId = row?.payload.grantId;
      return typeof grantId === 'string' && holdSpend(key, grantId);
    }

    private async findBy(
      column: Lookup,
      value: string,
      known: { jti?: string; userCode?: string },
    ): Promise<AdapterPayload | undefined> {
      const rows = await db
        .selectFrom('oidc_payloads')
        .select(['payload', 'consumed_at'])
        .where('type', '=', this.type)
        .where(column, '=', value)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
        .limit(2)
        .execute();
      // A uid or user code matching two rows is ambiguous; answering with either would be a guess.
      const [row] = rows;
      if (!row || rows.length > 1) return undefined;
      const payload = fromStored(this.type, row.payload, known, sealer);
      return row.consumed_at ? { ...payload, consumed: true } : payload;
    }
  };
}

/** Deletes expired artifacts in batches so one sweep never holds a long lock; returns how many went. */
export async function sweepExpiredPayloads(db: Db, batchSize = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db
      .deleteFrom('oidc_payloads')
      .where(({ eb, selectFrom, refTuple }) =>
        eb(
          refTuple('type', 'id'),
          'in',
          selectFrom('oidc_payloads')
            .select(['type', 'id'])
            .where('expires_at', '<', new Date())
            .limit(batchSize)
            .$asTuple('type', 'id'),
        ),
      )
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/**
 * Ends everything one user holds: sessions, grants and every token issued from them. JWT access
 * tokens are not stored, but introspection answers them inactive once their grant is gone.
 */
export async function revokeEverythingOf(db: Db, accountId: string): Promise<number> {
  const result = await db.deleteFrom('oidc_payloads').where('account_id', '=', accountId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
