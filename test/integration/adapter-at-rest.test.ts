/**
 * What a copy of the oidc_payloads table (a backup, a replica) gives away, and what concurrent
 * uses of one code get: every artifact is stored under the hash of its id with no working value
 * in the row, yet found again from the value a client presents; of many simultaneous consumes of
 * one row exactly one wins, and the losers revoke the whole grant.
 */
import { describe, expect, test } from '@jest/globals';
import type { Db } from '../../db/database.ts';
import {
  adapterPerFile,
  keyOf,
  MODELS,
  newId,
  type PayloadAdapterClass,
  samplePayload,
  storedKeys,
} from '../support/adapter-fixtures.ts';

let db: Db;
let PayloadAdapter: PayloadAdapterClass;

adapterPerFile((opened, Adapter) => {
  db = opened;
  PayloadAdapter = Adapter;
});

/** The whole table as text, as a dump would show it. */
async function tableAsText(): Promise<string> {
  return JSON.stringify(await db.selectFrom('oidc_payloads').selectAll().execute());
}

describe('stored at rest', () => {
  test.each(MODELS)('a %s row does not hold its id, and find gives it back', async (model) => {
    const id = newId(model);
    const payload = samplePayload(model, id, { grantId: 'grant-1' });
    await new PayloadAdapter(model).upsert(id, payload, 3600);

    expect(await tableAsText()).not.toContain(id);
    expect(await storedKeys(db)).toEqual([keyOf(model, id)]);
    expect(await new PayloadAdapter(model).find(id)).toStrictEqual(payload);
  });

  test('a device code keeps neither the device code nor the user code in clear', async () => {
    const id = newId('device-code');
    const payload = samplePayload('DeviceCode', id, { userCode: 'WDJB-MJHT' });
    const deviceCodes = new PayloadAdapter('DeviceCode');
    await deviceCodes.upsert(id, payload, 600);

    const dump = await tableAsText();
    expect(dump).not.toContain(id);
    expect(dump).not.toContain('WDJB-MJHT');
    // Found by the user code, it comes back whole, id included, so the library saves it in place.
    expect(await deviceCodes.findByUserCode?.('WDJB-MJHT')).toStrictEqual(payload);
    const { userCode: _userCode, ...byId } = payload;
    expect(await deviceCodes.find(id)).toStrictEqual(byId);
  });

  test('an interaction keeps no session cookie, and seals the device code and pushed request it names', async () => {
    const id = newId('interaction');
    const cookie = newId('session-cookie');
    const deviceCode = newId('device-code');
    const parJti = newId('par');
    const session = { accountId: 'user-1', uid: 'session-uid', cookie, amr: ['pwd'] };
    const interactions = new PayloadAdapter('Interaction');
    await interactions.upsert(id, samplePayload('Interaction', id, { session, deviceCode, parJti }), 3600);

    const dump = await tableAsText();
    for (const secret of [id, cookie, deviceCode, parJti]) expect(dump).not.toContain(secret);
    const { cookie: _cookie, ...sessionKept } = session;
    expect(await interactions.find(id)).toStrictEqual(
      samplePayload('Interaction', id, { session: sessionKept, deviceCode, parJti }),
    );
  });
});

describe('concurrent consumes of one row', () => {
  async function store(model: string, grantId: string): Promise<string> {
    const id = newId(model);
    await new PayloadAdapter(model).upsert(id, samplePayload(model, id, { grantId }), 3600);
    return id;
  }

  test.each(['AuthorizationCode', 'RefreshToken'])(
    '120 at once on one %s: one wins, the others get invalid_grant and the grant is gone',
    async (model) => {
      const grantId = newId('grant');
      const id = await store(model, grantId);
      await Promise.all(['AccessToken', 'RefreshToken', 'Grant'].map((m) => store(m, grantId)));
      const otherGrant = newId('grant');
      const untouched = await store('RefreshToken', otherGrant);

      const adapters = Array.from({ length: 120 }, () => new PayloadAdapter(model));
      const outcomes = await Promise.allSettled(adapters.map((adapter) => adapter.consume(id)));

      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refusals = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : []));
      expect(refusals).toHaveLength(119);
      for (const refusal of refusals) expect(refusal).toMatchObject({ error: 'invalid_grant', status: 400 });
      expect(await storedKeys(db)).toEqual([keyOf('RefreshToken', untouched)]);
    },
  );

  test('a consume of a row already gone is refused too', async () => {
    await expect(new PayloadAdapter('AuthorizationCode').consume(newId('never-stored'))).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });
});
