/**
 * The upgrade to hashed artifact keys (db/migrations/20261130T1020-hashed-artifact-keys.ts):
 * sessions, codes, tokens and grants stored the old way, under their plain ids, are found again
 * by the same values afterwards (nobody is signed out, no token stops working, a used refresh
 * token stays used), and the table no longer holds those values.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Migrator } from 'kysely/migration';
import type { AdapterPayload } from 'oidc-provider';
import { listArtifactsOf } from '../../adapters/account-artifacts.ts';
import { artifactKey } from '../../adapters/artifact-key.ts';
import { payloadAdapter } from '../../adapters/oidc-adapter.ts';
import type { Db } from '../../db/database.ts';
import { migrations } from '../../db/migrations/index.ts';
import { migrateToLatest } from '../../db/migrator.ts';
import { createSecrets } from '../../server/secrets.ts';
import { newId, samplePayload } from '../support/adapter-fixtures.ts';
import { openTestDb, TEST_SECRET_KEY } from '../support/database.ts';

const BEFORE = '20261123T1900-federation';

let db: Db;
let close: () => Promise<void>;
let PayloadAdapter: ReturnType<typeof payloadAdapter>;

const account = 'user-before-upgrade';
const grantId = newId('grant');
const sessionCookie = newId('session-cookie');
const code = newId('code');
const usedRefreshToken = newId('refresh-used');
const refreshToken = newId('refresh');
const interaction = newId('interaction');
const deviceCode = newId('device-code');

const payloads = {
  session: samplePayload('Session', sessionCookie, {
    uid: 'session-uid',
    accountId: account,
    authorizations: { 'client-1': { grantId, sid: 'sid-1' } },
  }),
  code: samplePayload('AuthorizationCode', code, { grantId, accountId: account }),
  usedRefreshToken: samplePayload('RefreshToken', usedRefreshToken, { grantId, accountId: account }),
  refreshToken: samplePayload('RefreshToken', refreshToken, { grantId, accountId: account }),
  grant: samplePayload('Grant', grantId, { accountId: account }),
  interaction: samplePayload('Interaction', interaction, {
    session: { accountId: account, uid: 'session-uid', cookie: sessionCookie },
    params: { client_id: 'client-1', state: 'before\u0000after' },
  }),
  deviceCode: samplePayload('DeviceCode', deviceCode, { userCode: 'BCDF-GHJK' }),
};

/** A row as the adapter wrote it before the upgrade: keyed and indexed by the plain values. */
async function storeTheOldWay(type: string, id: string, payload: AdapterPayload, consumed = false) {
  await db
    .insertInto('oidc_payloads')
    .values({
      type,
      id,
      payload: JSON.stringify(payload),
      grant_id: payload.grantId ?? null,
      user_code: payload.userCode ?? null,
      uid: payload.uid ?? null,
      account_id: payload.accountId ?? null,
      expires_at: new Date(Date.now() + 3600_000),
      consumed_at: consumed ? new Date() : null,
    })
    .execute();
}

beforeAll(async () => {
  ({ db, close } = await openTestDb());
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error } = await migrator.migrateTo(BEFORE);
  if (error) throw error;
  await storeTheOldWay('Session', sessionCookie, payloads.session);
  await storeTheOldWay('AuthorizationCode', code, payloads.code);
  await storeTheOldWay('RefreshToken', usedRefreshToken, payloads.usedRefreshToken, true);
  await storeTheOldWay('RefreshToken', refreshToken, payloads.refreshToken);
  await storeTheOldWay('Grant', grantId, payloads.grant);
  await storeTheOldWay('Interaction', interaction, payloads.interaction);
  await storeTheOldWay('DeviceCode', deviceCode, payloads.deviceCode);

  await migrateToLatest(db);
  PayloadAdapter = payloadAdapter(db, createSecrets(TEST_SECRET_KEY));
});

afterAll(async () => {
  await close();
});

const find = (model: string, id: string) => new PayloadAdapter(model).find(id);

describe('after the upgrade', () => {
  test('the table holds none of the session cookie, code, refresh tokens or user code', async () => {
    const dump = JSON.stringify(await db.selectFrom('oidc_payloads').selectAll().execute());

    for (const value of [sessionCookie, code, usedRefreshToken, refreshToken, interaction, 'BCDF-GHJK']) {
      expect({ value, found: dump.includes(value) }).toEqual({ value, found: false });
    }
  });

  test('everything issued before is found by the same values, whole', async () => {
    expect(await find('Session', sessionCookie)).toStrictEqual(payloads.session);
    expect(await find('AuthorizationCode', code)).toStrictEqual(payloads.code);
    expect(await find('RefreshToken', refreshToken)).toStrictEqual(payloads.refreshToken);
    expect(await find('Grant', grantId)).toStrictEqual(payloads.grant);
    expect(await new PayloadAdapter('DeviceCode').findByUserCode?.('BCDF-GHJK')).toStrictEqual(payloads.deviceCode);
  });

  test('an interaction keeps its request parameters but no longer the session cookie', async () => {
    const { cookie: _cookie, ...session } = payloads.interaction.session as Record<string, unknown>;
    expect(await find('Interaction', interaction)).toStrictEqual({ ...payloads.interaction, session });
  });

  test('a refresh token used before is still used, so presenting it again is still a reuse', async () => {
    expect(await find('RefreshToken', usedRefreshToken)).toStrictEqual({
      ...payloads.usedRefreshToken,
      consumed: true,
    });
  });

  test('the session is found by its uid, and listed under its key on the account page', async () => {
    const { jti: _jti, ...byUid } = payloads.session;
    expect(await new PayloadAdapter('Session').findByUid?.('session-uid')).toStrictEqual(byUid);
    expect((await listArtifactsOf(db, account, 'Session')).map((s) => s.key)).toEqual([artifactKey(sessionCookie)]);
  });

  test('revoking the grant by its id reaches the tokens issued before', async () => {
    await new PayloadAdapter('AuthorizationCode').revokeByGrantId(grantId);
    await new PayloadAdapter('RefreshToken').revokeByGrantId(grantId);

    expect(await find('AuthorizationCode', code)).toBeUndefined();
    expect(await find('RefreshToken', refreshToken)).toBeUndefined();
  });
});
