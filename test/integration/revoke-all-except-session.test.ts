import { describe, expect, it } from '@jest/globals';
import { revokeAllExceptSession } from '../../adapters/account-artifacts.ts';
import type { Db } from '../../db/database.ts';
import { adapterPerFile, newId, type PayloadAdapterClass, samplePayload } from '../support/adapter-fixtures.ts';

/**
 * Ending everything of one account but the session that made a change: its other sessions,
 * grants and tokens go; the kept session (named by its uid, not its stored id), the grants it
 * holds and their tokens stay; another account's rows are never touched. Read back through the
 * adapter, so the test holds whatever form the adapter stores ids in.
 */
const HOUR = 3600;

let db: Db;
let Adapter: PayloadAdapterClass;

adapterPerFile((opened, PayloadAdapter) => {
  db = opened;
  Adapter = PayloadAdapter;
});

interface Signed {
  sessionId: string;
  uid: string;
  grantId: string;
  refreshToken: string;
  accessToken: string;
}

/** One browser session of `accountId` with an app grant and its tokens, stored as oidc-provider stores them. */
async function signedIn(accountId: string): Promise<Signed> {
  const s = {
    sessionId: newId('session'),
    uid: newId('uid'),
    grantId: newId('grant'),
    refreshToken: newId('rt'),
    accessToken: newId('at'),
  };
  const base = { accountId, clientId: 'app' };
  await new Adapter('Session').upsert(
    s.sessionId,
    samplePayload('Session', s.sessionId, {
      ...base,
      uid: s.uid,
      authorizations: { app: { grantId: s.grantId } },
    }),
    HOUR,
  );
  await new Adapter('Grant').upsert(s.grantId, samplePayload('Grant', s.grantId, base), HOUR);
  for (const [model, id] of [
    ['RefreshToken', s.refreshToken],
    ['AccessToken', s.accessToken],
  ] as const) {
    await new Adapter(model).upsert(id, samplePayload(model, id, { ...base, grantId: s.grantId }), HOUR);
  }
  return s;
}

async function alive(s: Signed) {
  const found = await Promise.all([
    new Adapter('Session').findByUid(s.uid),
    new Adapter('Grant').find(s.grantId),
    new Adapter('RefreshToken').find(s.refreshToken),
    new Adapter('AccessToken').find(s.accessToken),
  ]);
  return found.map((f) => f !== undefined);
}

describe('revokeAllExceptSession', () => {
  it('keeps the named session with its grant and tokens, and ends the account’s others', async () => {
    const [current, other, third, someoneElse] = await Promise.all([
      signedIn('ada'),
      signedIn('ada'),
      signedIn('ada'),
      signedIn('grace'),
    ]);
    const revoked = await revokeAllExceptSession(db, 'ada', current.uid);
    expect(revoked).toBe(8);
    expect(await alive(current)).toEqual([true, true, true, true]);
    expect(await alive(other)).toEqual([false, false, false, false]);
    expect(await alive(third)).toEqual([false, false, false, false]);
    expect(await alive(someoneElse)).toEqual([true, true, true, true]);
  });

  it('ends everything of the account when the session is not one of its own, or none is named', async () => {
    const [ada, grace] = await Promise.all([signedIn('ada'), signedIn('grace')]);
    await revokeAllExceptSession(db, 'ada', grace.uid);
    expect(await alive(ada)).toEqual([false, false, false, false]);
    expect(await alive(grace)).toEqual([true, true, true, true]);
    await revokeAllExceptSession(db, 'grace', undefined);
    expect(await alive(grace)).toEqual([false, false, false, false]);
  });
});
