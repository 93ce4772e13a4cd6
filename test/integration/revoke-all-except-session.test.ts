import { describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { revokeAllExceptSession } from '../../adapters/account-artifacts.ts';
import type { Db } from '../../db/database.ts';
import type { AuditEventInput } from '../../db/repositories/audit-events.ts';
import { findUserById, insertUser, updatePasswordHash } from '../../db/repositories/users.ts';
import { changeEndingOtherSessions } from '../../server/accounts/other-sessions.ts';
import { adapterPerFile, newId, type PayloadAdapterClass, samplePayload } from '../support/adapter-fixtures.ts';

/**
 * Ending everything of one account but the session that made a change: its other sessions,
 * grants and tokens go; the kept session (named by its uid, not its stored id), the grants it
 * holds and their tokens stay; another account's rows are never touched. Read back through the
 * adapter, so the test holds whatever form the adapter stores ids in. And a change to how an
 * account signs in is made in the same transaction that ends the other sessions: both or neither.
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

describe('changeEndingOtherSessions', () => {
  async function account(name: string) {
    return insertUser(db, { id: newId(name), email: `${newId(name)}@example.test`, name, email_verified: true });
  }

  /** The change as the password form makes it, and the audit events it writes, in order. */
  function newPassword(userId: string, keepSessionUid: string, then?: (trx: Db) => Promise<unknown>) {
    const events: AuditEventInput[] = [];
    const change = changeEndingOtherSessions(
      {
        db,
        audit: async (event) => {
          events.push(event);
        },
      },
      {
        userId,
        keepSessionUid,
        change: 'password_changed',
        seen: {},
        make: async (trx) => {
          await updatePasswordHash(trx, userId, 'a new hash');
          await then?.(trx);
          return true;
        },
        audited: { type: 'password.changed', userId },
      },
    );
    return { change, events };
  }

  it('makes the change and ends the other sessions, then audits both in that order', async () => {
    const user = await account('ines');
    const [current, other] = await Promise.all([signedIn(user.id), signedIn(user.id)]);
    const { change, events } = newPassword(user.id, current.uid);
    expect(await change).toBe(true);
    expect((await findUserById(db, user.id))?.password_hash).toBe('a new hash');
    expect(await alive(current)).toEqual([true, true, true, true]);
    expect(await alive(other)).toEqual([false, false, false, false]);
    expect(events.map((e) => [e.type, e.details])).toEqual([
      ['password.changed', undefined],
      ['sessions.others_ended', { after: 'password_changed', revoked: 4 }],
    ]);
  });

  it('leaves the change unmade when the other sessions cannot be ended', async () => {
    const user = await account('joao');
    const [current, other] = await Promise.all([signedIn(user.id), signedIn(user.id)]);
    // After the change, the transaction loses sight of the tables: ending the sessions fails.
    const { change, events } = newPassword(user.id, current.uid, (trx) =>
      sql`set local search_path to nothing_here`.execute(trx),
    );
    await expect(change).rejects.toThrow(/oidc_payloads/);
    expect((await findUserById(db, user.id))?.password_hash).toBeNull();
    expect(await alive(other)).toEqual([true, true, true, true]);
    expect(events).toEqual([]);
  });

  it('ends no session when no change was made', async () => {
    const user = await account('kim');
    const [current, other] = await Promise.all([signedIn(user.id), signedIn(user.id)]);
    const events: AuditEventInput[] = [];
    const made = await changeEndingOtherSessions(
      { db, audit: async (event) => void events.push(event) },
      {
        userId: user.id,
        keepSessionUid: current.uid,
        change: 'passkey_removed',
        seen: {},
        make: async () => false,
        audited: { type: 'passkey.removed', userId: user.id },
      },
    );
    expect(made).toBe(false);
    expect(await alive(other)).toEqual([true, true, true, true]);
    expect(events).toEqual([]);
  });
});
