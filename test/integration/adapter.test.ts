/**
 * Contract tests for the oidc-provider storage adapter (adapters/oidc-adapter.ts), run against
 * whichever database openTestDb() gives: embedded PGlite, or Postgres when DATABASE_URL is set.
 *
 * The contract (oidc-provider's example/my_adapter.js and memory_adapter.js): one adapter instance
 * per model name; upsert creates or replaces an opaque payload that expires `expiresIn` seconds
 * later (never, when undefined); find / findByUid / findByUserCode return it, with a truthy
 * `consumed` once consumed, or undefined when missing, expired or (for uid and user code)
 * ambiguous; destroy deletes one row; revokeByGrantId deletes this model's rows of one grant.
 * sweepExpiredPayloads deletes expired rows in batches and reports how many.
 */
import { describe, expect, test } from '@jest/globals';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { artifactKey } from '../../adapters/artifact-key.ts';
import { sweepExpiredPayloads } from '../../adapters/oidc-adapter.ts';
import type { Db } from '../../db/database.ts';
import {
  adapterPerFile,
  expireRow,
  keyOf,
  MODELS,
  newId,
  type PayloadAdapterClass,
  samplePayload,
  storedKeys,
  storedRow,
} from '../support/adapter-fixtures.ts';

const ONE_HOUR = 3600;

let db: Db;
let PayloadAdapter: PayloadAdapterClass;

// Every test starts from an empty table, so counts (and the sweep) see only its own rows.
adapterPerFile((opened, Adapter) => {
  db = opened;
  PayloadAdapter = Adapter;
});

function adapterFor(model: string): Adapter {
  return new PayloadAdapter(model);
}

/** Stores a sample payload under a fresh id (for an hour unless told) and returns both. */
async function stored(
  model: string,
  overrides: Partial<AdapterPayload> = {},
  { expiresIn }: { expiresIn: number | undefined } = { expiresIn: ONE_HOUR },
): Promise<{ id: string; payload: AdapterPayload }> {
  const id = newId(model);
  const payload = samplePayload(model, id, overrides);
  await adapterFor(model).upsert(id, payload, expiresIn);
  return { id, payload };
}

// ReplayDetection rows (a client assertion's or DPoP proof's jti) are insert-only: see below.
const REPLACEABLE: readonly string[] = MODELS.filter((m) => m !== 'ReplayDetection');

describe.each(MODELS)('%s adapter', (model) => {
  const testReplacing = (name: string, fn: () => Promise<void>) => {
    if (REPLACEABLE.includes(model)) test(name, fn);
  };

  test('find returns exactly the payload upserted, nested objects and unknown keys included', async () => {
    const { id, payload } = await stored(model);

    expect(await adapterFor(model).find(id)).toStrictEqual(payload);
  });

  testReplacing('a second upsert of the same id replaces the payload instead of merging it', async () => {
    const adapter = adapterFor(model);
    const { id } = await stored(model, { scope: 'openid', grantId: 'grant-1' });
    const replacement = { kind: model, jti: id, scope: 'openid email', rotations: 2 } as AdapterPayload;

    await adapter.upsert(id, replacement, ONE_HOUR);

    expect(await adapter.find(id)).toStrictEqual(replacement);
    expect(await storedKeys(db)).toEqual([keyOf(model, id)]);
  });

  test('find of an id never stored is undefined', async () => {
    await stored(model);

    expect(await adapterFor(model).find(newId('unknown'))).toBeUndefined();
  });

  test('a row whose expiry has passed is not found, though the sweep has not deleted it yet', async () => {
    const { id } = await stored(model);
    await expireRow(db, model, id);

    expect(await adapterFor(model).find(id)).toBeUndefined();
    expect(await storedRow(db, model, id)).toBeDefined();
  });

  test('expiresIn sets the expiry that many seconds ahead', async () => {
    const before = Date.now();
    const { id } = await stored(model, {}, { expiresIn: 90 });
    const after = Date.now();

    const expiresAt = (await storedRow(db, model, id))?.expires_at?.getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + 90_000 - 1);
    expect(expiresAt).toBeLessThanOrEqual(after + 90_000 + 1);
  });

  test('an undefined expiresIn stores a row that never expires', async () => {
    const { id, payload } = await stored(model, {}, { expiresIn: undefined });

    expect((await storedRow(db, model, id))?.expires_at).toBeNull();
    expect(await adapterFor(model).find(id)).toStrictEqual(payload);
    await sweepExpiredPayloads(db);
    expect(await adapterFor(model).find(id)).toStrictEqual(payload);
  });

  test('consume adds a truthy consumed to the next find and leaves the rest of the payload', async () => {
    const adapter = adapterFor(model);
    const { id, payload } = await stored(model);
    expect((await adapter.find(id))?.consumed).toBeUndefined();

    await adapter.consume(id);

    const found = await adapter.find(id);
    expect(found?.consumed).toBeTruthy();
    const { consumed: _, ...rest } = found ?? {};
    expect(rest).toStrictEqual(payload);
  });

  test('a second consume is refused as a reuse, and the row stays consumed', async () => {
    const adapter = adapterFor(model);
    const { id } = await stored(model);

    await adapter.consume(id);
    const refused = model === 'PushedAuthorizationRequest' ? 'invalid_request_uri' : 'invalid_grant';
    await expect(adapter.consume(id)).rejects.toMatchObject({ error: refused, status: 400 });

    expect((await adapter.find(id))?.consumed).toBeTruthy();
  });

  test('consume marks only the row it names', async () => {
    const adapter = adapterFor(model);
    const consumed = await stored(model);
    const untouched = await stored(model);

    await adapter.consume(consumed.id);

    expect(await adapter.find(untouched.id)).toStrictEqual(untouched.payload);
  });

  test('destroy makes later finds undefined and deletes nothing else', async () => {
    const adapter = adapterFor(model);
    const doomed = await stored(model);
    const kept = await stored(model);

    await adapter.destroy(doomed.id);

    expect(await adapter.find(doomed.id)).toBeUndefined();
    expect(await adapter.find(kept.id)).toStrictEqual(kept.payload);
  });

  test("revokeByGrantId deletes this model's rows of that grant and nothing else", async () => {
    const otherModel = model === 'AccessToken' ? 'RefreshToken' : 'AccessToken';
    const revoked1 = await stored(model, { grantId: 'grant-revoked' });
    const revoked2 = await stored(model, { grantId: 'grant-revoked' });
    const otherGrant = await stored(model, { grantId: 'grant-kept' });
    const noGrant = await stored(model);
    const sameGrantOtherModel = await stored(otherModel, { grantId: 'grant-revoked' });

    await adapterFor(model).revokeByGrantId('grant-revoked');

    expect(await adapterFor(model).find(revoked1.id)).toBeUndefined();
    expect(await adapterFor(model).find(revoked2.id)).toBeUndefined();
    expect(await storedKeys(db)).toEqual(
      [keyOf(model, otherGrant.id), keyOf(model, noGrant.id), keyOf(otherModel, sameGrantOtherModel.id)].sort(),
    );
  });

  testReplacing('a grantId changed by a second upsert is the one revokeByGrantId follows', async () => {
    const adapter = adapterFor(model);
    const { id } = await stored(model, { grantId: 'grant-old' });
    const moved = samplePayload(model, id, { grantId: 'grant-new' });
    await adapter.upsert(id, moved, ONE_HOUR);

    await adapter.revokeByGrantId('grant-old');
    expect(await adapter.find(id)).toStrictEqual(moved);

    await adapter.revokeByGrantId('grant-new');
    expect(await adapter.find(id)).toBeUndefined();
  });

  test('upserting an expired row again with a new lifetime brings it back', async () => {
    const adapter = adapterFor(model);
    const { id, payload } = await stored(model);
    await expireRow(db, model, id);

    await adapter.upsert(id, payload, ONE_HOUR);

    expect(await adapter.find(id)).toStrictEqual(payload);
  });

  testReplacing('upserting again without expiresIn clears an earlier expiry', async () => {
    const adapter = adapterFor(model);
    const { id, payload } = await stored(model, {}, { expiresIn: 60 });

    await adapter.upsert(id, payload, undefined);

    expect((await storedRow(db, model, id))?.expires_at).toBeNull();
  });
});

describe('ReplayDetection adapter', () => {
  test('a second upsert of a live id is refused as seen before; an expired one is stored again', async () => {
    const adapter = adapterFor('ReplayDetection');
    const { id, payload } = await stored('ReplayDetection');

    await expect(adapter.upsert(id, payload, ONE_HOUR)).rejects.toMatchObject({ name: 'AlreadySeen' });

    await expireRow(db, 'ReplayDetection', id);
    await adapter.upsert(id, payload, ONE_HOUR);
    expect(await adapter.find(id)).toStrictEqual(payload);
  });
});

describe('the same id under different models', () => {
  test('are independent rows: each model finds, consumes and destroys only its own', async () => {
    const id = newId('shared');
    for (const model of MODELS) {
      await adapterFor(model).upsert(id, samplePayload(model, id), ONE_HOUR);
    }

    await adapterFor('AuthorizationCode').consume(id);
    await adapterFor('Session').destroy(id);

    expect(await adapterFor('Session').find(id)).toBeUndefined();
    expect((await adapterFor('AuthorizationCode').find(id))?.consumed).toBeTruthy();
    for (const model of MODELS.filter((m) => m !== 'Session' && m !== 'AuthorizationCode')) {
      expect(await adapterFor(model).find(id)).toStrictEqual(samplePayload(model, id));
    }
  });
});

describe('Session.findByUid', () => {
  const sessions = () => adapterFor('Session');
  // A session's id is its cookie, stored only as a hash: found by uid, it comes back without it.
  const withoutId = ({ jti: _jti, ...rest }: AdapterPayload) => rest;

  test('finds the session by its uid', async () => {
    const { payload } = await stored('Session', { uid: 'uid-1' });

    expect(await sessions().findByUid?.('uid-1')).toStrictEqual(withoutId(payload));
  });

  test('is undefined for an unknown uid', async () => {
    await stored('Session', { uid: 'uid-1' });

    expect(await sessions().findByUid?.('uid-unknown')).toBeUndefined();
  });

  test('follows the uid when the session id rotates', async () => {
    const old = await stored('Session', { uid: 'uid-1', accountId: 'before' });
    const rotated = await stored('Session', { uid: 'uid-1', accountId: 'after' });

    await sessions().destroy(old.id);

    expect(await sessions().findByUid?.('uid-1')).toStrictEqual(withoutId(rotated.payload));
  });

  test('follows a uid changed by a second upsert of the same id', async () => {
    const { id } = await stored('Session', { uid: 'uid-old' });
    const moved = samplePayload('Session', id, { uid: 'uid-new' });

    await sessions().upsert(id, moved, ONE_HOUR);

    expect(await sessions().findByUid?.('uid-old')).toBeUndefined();
    expect(await sessions().findByUid?.('uid-new')).toStrictEqual(withoutId(moved));
  });

  test('is undefined once the session has expired', async () => {
    const { id } = await stored('Session', { uid: 'uid-1' });
    await expireRow(db, 'Session', id);

    expect(await sessions().findByUid?.('uid-1')).toBeUndefined();
  });

  test('is undefined when two sessions share the uid, rather than guessing one', async () => {
    await stored('Session', { uid: 'uid-twice' });
    await stored('Session', { uid: 'uid-twice' });

    expect(await sessions().findByUid?.('uid-twice')).toBeUndefined();
  });

  test('ignores an expired session when judging whether the uid is ambiguous', async () => {
    const stale = await stored('Session', { uid: 'uid-1' });
    const live = await stored('Session', { uid: 'uid-1' });
    await expireRow(db, 'Session', stale.id);

    expect(await sessions().findByUid?.('uid-1')).toStrictEqual(withoutId(live.payload));
  });

  test('does not return another model carrying the same uid', async () => {
    await stored('Interaction', { uid: 'uid-elsewhere' });

    expect(await sessions().findByUid?.('uid-elsewhere')).toBeUndefined();
  });
});

describe('DeviceCode.findByUserCode', () => {
  const deviceCodes = () => adapterFor('DeviceCode');

  test('finds the device code by its user code', async () => {
    const { payload } = await stored('DeviceCode', { userCode: 'WDJB-MJHT', grantId: 'grant-1' });

    expect(await deviceCodes().findByUserCode?.('WDJB-MJHT')).toStrictEqual(payload);
  });

  test('is undefined for an unknown user code', async () => {
    await stored('DeviceCode', { userCode: 'WDJB-MJHT' });

    expect(await deviceCodes().findByUserCode?.('XXXX-XXXX')).toBeUndefined();
  });

  test('reports consumed once the device code is consumed', async () => {
    const { id } = await stored('DeviceCode', { userCode: 'WDJB-MJHT' });

    await deviceCodes().consume(id);

    expect((await deviceCodes().findByUserCode?.('WDJB-MJHT'))?.consumed).toBeTruthy();
  });

  test('is undefined once the device code has expired', async () => {
    const { id } = await stored('DeviceCode', { userCode: 'WDJB-MJHT' });
    await expireRow(db, 'DeviceCode', id);

    expect(await deviceCodes().findByUserCode?.('WDJB-MJHT')).toBeUndefined();
  });

  test('is undefined once the device code is destroyed', async () => {
    const { id } = await stored('DeviceCode', { userCode: 'WDJB-MJHT' });

    await deviceCodes().destroy(id);

    expect(await deviceCodes().findByUserCode?.('WDJB-MJHT')).toBeUndefined();
  });

  test('is undefined when two device codes share the user code', async () => {
    await stored('DeviceCode', { userCode: 'WDJB-MJHT' });
    await stored('DeviceCode', { userCode: 'WDJB-MJHT' });

    expect(await deviceCodes().findByUserCode?.('WDJB-MJHT')).toBeUndefined();
  });
});

describe('expiry edge cases', () => {
  test('a row upserted with expiresIn 1 is gone from find after 1.1 seconds of real time', async () => {
    const adapter = adapterFor('AuthorizationCode');
    const { id, payload } = await stored('AuthorizationCode', {}, { expiresIn: 1 });
    expect(await adapter.find(id)).toStrictEqual(payload);

    await new Promise((resolve) => setTimeout(resolve, 1100));

    expect(await adapter.find(id)).toBeUndefined();
  });

  // oidc-provider re-saves tokens with their remaining TTL (BaseToken#save passes `exp - now`, e.g.
  // a DeviceCode approved in its last second), so 0 must mean "expires now", as in the memory
  // adapter, never "no expiry": such a row would outlive every sweep.
  test('expiresIn 0 means already expired, not never', async () => {
    const { id } = await stored('DeviceCode', { userCode: 'LAST-SECOND' }, { expiresIn: 0 });

    expect(await adapterFor('DeviceCode').find(id)).toBeUndefined();
    expect((await storedRow(db, 'DeviceCode', id))?.expires_at).not.toBeNull();
  });
});

describe('opaque storage of request-derived strings', () => {
  // Interaction payloads copy the authorization request's parameters (state, nonce, login_hint…),
  // which a client or user agent controls; any JavaScript string must round-trip.
  test('a payload string containing U+0000 round-trips', async () => {
    const { id, payload } = await stored('Interaction', {
      params: { client_id: 'client-1', state: 'before\u0000after' },
    });

    expect(await adapterFor('Interaction').find(id)).toStrictEqual(payload);
  });
});

describe('sweepExpiredPayloads', () => {
  /** Stores `count` rows of `model` and moves their expiry into the past. */
  async function expiredRows(model: string, count: number): Promise<string[]> {
    const keys: string[] = [];
    for (let i = 0; i < count; i++) {
      const { id } = await stored(model);
      await expireRow(db, model, id);
      keys.push(keyOf(model, id));
    }
    return keys;
  }

  async function liveRows(): Promise<string[]> {
    const unexpired = await stored('AccessToken', {}, { expiresIn: ONE_HOUR });
    const forever = await stored('Grant', {}, { expiresIn: undefined });
    return [keyOf('AccessToken', unexpired.id), keyOf('Grant', forever.id)].sort();
  }

  test('deletes exactly the expired rows and returns how many', async () => {
    const live = await liveRows();
    await expiredRows('AccessToken', 2);
    await expiredRows('Session', 1);
    const consumedAndExpired = await stored('AuthorizationCode');
    await adapterFor('AuthorizationCode').consume(consumedAndExpired.id);
    await expireRow(db, 'AuthorizationCode', consumedAndExpired.id);

    expect(await sweepExpiredPayloads(db)).toBe(4);
    expect(await storedKeys(db)).toEqual(live);
  });

  test('returns 0 and deletes nothing when nothing has expired', async () => {
    const live = await liveRows();

    expect(await sweepExpiredPayloads(db)).toBe(0);
    expect(await storedKeys(db)).toEqual(live);
  });

  test.each([
    { expired: 10, batchSize: 3 },
    { expired: 9, batchSize: 3 },
    { expired: 2, batchSize: 3 },
  ])('deletes $expired expired rows in batches of $batchSize', async ({ expired, batchSize }) => {
    const live = await liveRows();
    await expiredRows('RefreshToken', expired);

    expect(await sweepExpiredPayloads(db, batchSize)).toBe(expired);
    expect(await storedKeys(db)).toEqual(live);
  });

  test('drops the sealed successor of a spent refresh token once its grace window has passed', async () => {
    const passed = await stored('RefreshToken', {}, { expiresIn: ONE_HOUR });
    const open = await stored('RefreshToken', {}, { expiresIn: ONE_HOUR });
    const keep = (id: string, graceUntil: Date) =>
      db
        .updateTable('oidc_payloads')
        .set({ consumed_at: new Date(), successor: 'sealed successor', grace_until: graceUntil })
        .where('type', '=', 'RefreshToken')
        .where('id', '=', artifactKey(id))
        .execute();
    await keep(passed.id, new Date(Date.now() - 1000));
    await keep(open.id, new Date(Date.now() + 60_000));

    expect(await sweepExpiredPayloads(db)).toBe(0);

    const rows = await db.selectFrom('oidc_payloads').select(['id', 'successor', 'consumed_at']).execute();
    expect(rows.find((r) => r.id === artifactKey(passed.id))).toMatchObject({ successor: null });
    expect(rows.find((r) => r.id === artifactKey(open.id))).toMatchObject({ successor: 'sealed successor' });
    // Still spent: only the successor went.
    expect(rows.every((r) => r.consumed_at !== null)).toBe(true);
  });

  test('a second sweep finds nothing left to delete', async () => {
    await expiredRows('Interaction', 5);

    expect(await sweepExpiredPayloads(db, 2)).toBe(5);
    expect(await sweepExpiredPayloads(db, 2)).toBe(0);
  });
});
