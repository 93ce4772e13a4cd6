import { type ExpressionBuilder, type OnConflictBuilder, sql } from 'kysely';
import { jsonObjectFrom } from 'kysely/helpers/postgres';
import { type Adapter, type AdapterPayload, errors, Provider } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { preparedQuery } from '../db/prepared-query.ts';
import { selectAccountUsers } from '../db/repositories/users.ts';
import type { Schema } from '../db/schema.ts';
import { artifactKey } from './artifact-key.ts';
import { revokeGrantOfReusedRow } from './grant-reuse.ts';
import { holdRow, holdSpend, inRefreshRotation, noteGraceReplay } from './refresh-rotation.ts';
import { keepForRequest, onceForRequest, takeFromRequest } from './request-prefetch.ts';
import { fromStored, type Sealer, toStored } from './stored-payload.ts';

/**
 * oidc-provider's artifacts in one table, one row per (model, id). Rules this file enforces:
 * - a row's key is the hash of its id (artifact-key.ts), and `user_code` the hash of the user
 *   code: the table holds no working token, code or session cookie (stored-payload.ts strips the
 *   copies in payloads). `grant_id` is hashed too, so it matches the key of its Grant's row;
 * - a row past `expires_at` is never returned, even before the sweep deletes it;
 * - `consume` is one conditional update, so of any number of concurrent uses of a code or refresh
 *   token exactly one wins. The others are reuse, as if they had come after it: the whole grant
 *   is revoked and the request fails with `invalid_grant`. `find` reports a consumed row as
 *   consumed, so a rotated refresh token presented again revokes its grant, except within its
 *   client's grace window at the token endpoint (refresh-rotation.ts);
 * - a refresh token rotated at the token endpoint is spent in the same statement that writes its
 *   successor and access token, when the request has succeeded (refresh-rotation.ts): a request
 *   that fails half-way leaves the old token usable;
 * - a device-flow user code is confirmed once: marking it in flight is a conditional update;
 * - a ReplayDetection row (a client assertion's or DPoP proof's jti) is only ever inserted: of
 *   any number of concurrent uses of one such JWT, exactly one is stored, the others throw
 *   AlreadySeen, which server/oidc/replay-detection.ts turns into the library's "replayed";
 * - uid and accountId are copied into columns so lookups by them use an index.
 * Clients are not stored here: they come from the `clients` table through `clientsFromCatalog` in server/oidc/provider.ts.
 */

type Lookup = 'id' | 'uid' | 'user_code';

/** The models a token presented to introspection or revocation may be of; the library tries each. */
const TOKEN_MODELS = ['AccessToken', 'ClientCredentials', 'RefreshToken'];
const lookingUpAnyToken = () => ['introspection', 'revocation'].includes(Provider.ctx?.oidc?.route ?? '');
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
      if (holdRow(row, payload.grantId, id)) return;
      const { type: _type, id: _id, ...columns } = row;
      if (this.type === 'DeviceCode' && payload.inFlight && !payload.accountId && !payload.error) {
        return this.claimUserCode(row.id, columns);
      }
      if (this.type === REPLAY_DETECTION) {
        // Insert only: a live row with this key means the JWT was seen already (replay-detection.ts).
        const [inserted] = await insertUnlessLive(db, { ...row, now: new Date() });
        if (!inserted) throw new AlreadySeen();
        return;
      }
      await upsertRow(db, row);
    }

    find(id: string) {
      const key = artifactKey(id);
      if (this.type === 'RefreshToken' && inRefreshRotation()) return this.findRotating(key, id);
      if (TOKEN_MODELS.includes(this.type) && lookingUpAnyToken()) return this.findAnyToken(key, id);
      if (this.type === 'Grant') {
        const prefetched = takeFromRequest<Record<string, unknown>>(`Grant:${key}`);
        if (prefetched) return Promise.resolve(fromStored(this.type, prefetched, { jti: id }, sealer));
      }
      return this.findBy('id', key, { jti: id });
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
      if (this.type === 'RefreshToken' && holdSpend(id)) return;
      const [won] = await consumeRow(db, { type: this.type, key, now: new Date() });
      if (won) return;
      if (this.type === 'PushedAuthorizationRequest') {
        throw new errors.InvalidRequestUri('request_uri is invalid, expired, or was already used');
      }
      await revokeGrantOfReusedRow(db, this.type, key);
      throw new errors.InvalidGrant(`${this.type} already used`);
    }

    async destroy(id: string): Promise<void> {
      await deleteRow(db, { type: this.type, key: artifactKey(id) });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await deleteOfGrant(db, { type: this.type, grantKey: artifactKey(grantId) });
    }

    /**
     * A person confirmed a user code at /device: the library marks the DeviceCode `inFlight` and
     * saves it, after reading it unmarked. Only the first such save of a code wins; the others
     * are told the code was used, so one code signs in one person however many confirm it at once.
     */
    private async claimUserCode(key: string, columns: Record<string, unknown>): Promise<void> {
      const won = await db
        .updateTable('oidc_payloads')
        .set(columns)
        .where('type', '=', this.type)
        .where('id', '=', key)
        .where(sql<boolean>`payload->'inFlight' is null`)
        .returning('id')
        .executeTakeFirst();
      if (!won) throw new errors.InvalidRequest('the code has already been used');
    }

    /**
     * A token by id under this model, from one statement that looks under every token model for
     * the request, and reads the token's Grant with it, which introspection reads next.
     */
    private async findAnyToken(key: string, id: string): Promise<AdapterPayload | undefined> {
      const rows = await onceForRequest(`tokens:${key}`, () => findTokens(db, { key, now: new Date() }));
      const row = rows.find((r) => r.type === this.type);
      if (!row) return undefined;
      if (row.grant_key && row.grant) keepForRequest(`Grant:${row.grant_key}`, row.grant);
      const payload = fromStored(this.type, row.payload, { jti: id }, sealer);
      return row.consumed_at ? { ...payload, consumed: true } : payload;
    }

    /**
     * The refresh token a token request rotates, read in one statement with its Grant and its
     * account (user and roles), which the library reads next (request-prefetch.ts). Spent within
     * its grace window, it is given as unused, and the rotation answers with the successor kept
     * on the row instead of writing its own.
     */
    private async findRotating(key: string, id: string): Promise<AdapterPayload | undefined> {
      const now = new Date();
      const [row] = await findRotatingToken(db, { key, now });
      if (!row) return undefined;
      if (row.grant_key && row.grant) keepForRequest(`Grant:${row.grant_key}`, row.grant);
      if (row.account) keepForRequest(`Account:${row.account.id}`, row.account);
      const payload = fromStored(this.type, row.payload, { jti: id }, sealer);
      if (!row.consumed_at) return payload;
      if (row.successor && row.grace_until && row.grace_until > now) {
        noteGraceReplay(key, row.successor);
        return payload;
      }
      return { ...payload, consumed: true };
    }

    private async findBy(
      column: Lookup,
      value: string,
      known: { jti?: string; userCode?: string },
    ): Promise<AdapterPayload | undefined> {
      const rows = await FIND_BY[column](db, { type: this.type, value, now: new Date() });
      // A uid or user code matching two rows is ambiguous; answering with either would be a guess.
      const [row] = rows;
      if (!row || rows.length > 1) return undefined;
      const payload = fromStored(this.type, row.payload, known, sealer);
      return row.consumed_at ? { ...payload, consumed: true } : payload;
    }
  };
}

/** Live rows only: a row past `expires_at` is never returned, even before the sweep deletes it. */
const live = (eb: ExpressionBuilder<Schema, 'oidc_payloads'>, now: Date) =>
  eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]);

// The hot statements, compiled once (db/prepared-query.ts).

/** The live token row `key` (as `t`) with its grant (as `g`) when that is live too. */
const liveTokenWithGrant = (db: Db, v: { key: string; now: Date }) =>
  db
    .selectFrom('oidc_payloads as t')
    .leftJoin('oidc_payloads as g', (join) =>
      join
        .on('g.type', '=', 'Grant')
        .onRef('g.id', '=', 't.grant_id')
        .on((eb) => eb.or([eb('g.expires_at', 'is', null), eb('g.expires_at', '>', v.now)])),
    )
    .where('t.id', '=', v.key)
    .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', v.now)]));

const findTokens = preparedQuery((db: Db, v: { key: string; now: Date }) =>
  liveTokenWithGrant(db, v)
    .select(['t.type', 't.payload', 't.consumed_at', 'g.id as grant_key', 'g.payload as grant'])
    .where('t.type', 'in', TOKEN_MODELS),
);

const findRotatingToken = preparedQuery((db: Db, v: { key: string; now: Date }) =>
  liveTokenWithGrant(db, v)
    .select(['t.payload', 't.consumed_at', 't.successor', 't.grace_until', 'g.id as grant_key', 'g.payload as grant'])
    .select(jsonObjectFrom(selectAccountUsers(db).where(sql<boolean>`users.id = t.account_id`)).as('account'))
    .where('t.type', '=', 'RefreshToken'),
);

const findByColumn = (column: Lookup) =>
  preparedQuery((db: Db, v: { type: string; value: string; now: Date }) =>
    db
      .selectFrom('oidc_payloads')
      .select(['payload', 'consumed_at'])
      .where('type', '=', v.type)
      .where(column, '=', v.value)
      .where((eb) => live(eb, v.now))
      .limit(2),
  );
const FIND_BY = { id: findByColumn('id'), uid: findByColumn('uid'), user_code: findByColumn('user_code') };

interface StoredRow {
  type: string;
  id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  account_id: string | null;
  expires_at: Date | null;
}

const insertRow = (db: Db, v: StoredRow) =>
  db.insertInto('oidc_payloads').values({
    type: v.type,
    id: v.id,
    payload: v.payload,
    grant_id: v.grant_id,
    user_code: v.user_code,
    uid: v.uid,
    account_id: v.account_id,
    expires_at: v.expires_at,
  });

/** On a conflict, the row takes every column of the one being inserted but its key. */
const OVERWRITE = (oc: OnConflictBuilder<Schema, 'oidc_payloads'>) =>
  oc.columns(['type', 'id']).doUpdateSet((eb) => ({
    payload: eb.ref('excluded.payload'),
    grant_id: eb.ref('excluded.grant_id'),
    user_code: eb.ref('excluded.user_code'),
    uid: eb.ref('excluded.uid'),
    account_id: eb.ref('excluded.account_id'),
    expires_at: eb.ref('excluded.expires_at'),
  }));

const upsertRow = preparedQuery((db: Db, v: StoredRow) => insertRow(db, v).onConflict(OVERWRITE));

/** Inserts the row unless a live one has its key: answers the key when it inserted. */
const insertUnlessLive = preparedQuery((db: Db, v: StoredRow & { now: Date }) =>
  insertRow(db, v)
    .onConflict((oc) => OVERWRITE(oc).where('oidc_payloads.expires_at', '<=', v.now))
    .returning('id'),
);

const deleteRow = preparedQuery((db: Db, v: { type: string; key: string }) =>
  db.deleteFrom('oidc_payloads').where('type', '=', v.type).where('id', '=', v.key),
);

const deleteOfGrant = preparedQuery((db: Db, v: { type: string; grantKey: string }) =>
  db.deleteFrom('oidc_payloads').where('type', '=', v.type).where('grant_id', '=', v.grantKey),
);

const consumeRow = preparedQuery((db: Db, v: { type: string; key: string; now: Date }) =>
  db
    .updateTable('oidc_payloads')
    .set({ consumed_at: v.now })
    .where('type', '=', v.type)
    .where('id', '=', v.key)
    .where('consumed_at', 'is', null)
    .returning('id'),
);

/**
 * Deletes expired artifacts in batches so one sweep never holds a long lock, and drops the sealed
 * successors of spent refresh tokens whose grace window has passed; returns how many rows went.
 */
export async function sweepExpiredPayloads(db: Db, batchSize = 5_000): Promise<number> {
  await inBatches(batchSize, async () => {
    const result = await db
      .updateTable('oidc_payloads')
      .set({ successor: null, grace_until: null })
      .where(({ eb, selectFrom, refTuple }) =>
        eb(
          refTuple('type', 'id'),
          'in',
          selectFrom('oidc_payloads')
            .select(['type', 'id'])
            .where('successor', 'is not', null)
            .where('grace_until', '<', new Date())
            .limit(batchSize)
            .$asTuple('type', 'id'),
        ),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  });
  return inBatches(batchSize, async () => {
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
    return Number(result.numDeletedRows);
  });
}

/** Runs `batch` until one touches fewer than `batchSize` rows; returns the rows touched in all. */
async function inBatches(batchSize: number, batch: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const touched = await batch();
    total += touched;
    if (touched < batchSize) return total;
  }
}
