import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { Db } from '../../db/database.ts';
import { findUserById, insertUser } from '../../db/repositories/users.ts';
import { issueEmailToken } from '../../server/accounts/email-tokens.ts';
import { deleteExpiredSignups, pendingSignupDeadline } from '../../server/accounts/pending-signups.ts';
import { verifyEmail } from '../../server/accounts/verification.ts';
import { migratedDatabasePerFile } from '../support/database.ts';

/**
 * A sign-up is pending until its address is verified: it claims its username only then (the
 * first to verify gets it) and is deleted 7 days after sign-up if never verified. Verified
 * accounts, and unverified ones that are not sign-ups, are never swept.
 */
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

const seen = { ip: '127.0.0.1', userAgent: 'test' };
const audit = async () => {};
const DAY = 86_400_000;

async function pendingSignup(email: string, username: string, madeAt = new Date()) {
  return insertUser(db, {
    id: randomUUID(),
    email,
    username: null,
    pending_username: username,
    pending_until: pendingSignupDeadline(madeAt),
    name: null,
    password_hash: 'x',
    email_verified: false,
  });
}

async function verifyByLink(user: { id: string; email: string }) {
  return verifyEmail(db, audit, await issueEmailToken(db, user.id, user.email, 'verify_email'), seen);
}

describe('a pending sign-up', () => {
  it('claims its username when verified, and goes without when someone verified first', async () => {
    const first = await pendingSignup('first@example.test', 'Shared-Name');
    const second = await pendingSignup('second@example.test', 'shared-name');
    expect(first.username).toBeNull();

    expect(await verifyByLink(second)).toBe(true);
    expect(await verifyByLink(first)).toBe(true);

    expect(await findUserById(db, second.id)).toMatchObject({
      username: 'shared-name',
      pending_username: null,
      pending_until: null,
      email_verified: true,
    });
    expect(await findUserById(db, first.id)).toMatchObject({
      username: null,
      pending_username: null,
      pending_until: null,
      email_verified: true,
    });
  });

  it('is deleted 7 days after sign-up if never verified, and nothing else is', async () => {
    const expired = await pendingSignup('expired@example.test', 'expired', new Date(Date.now() - 7 * DAY - 60_000));
    const fresh = await pendingSignup('fresh@example.test', 'fresh', new Date(Date.now() - 6 * DAY));
    const verifiedLate = await pendingSignup('late@example.test', 'late', new Date(Date.now() - 8 * DAY));
    await verifyByLink(verifiedLate);
    const notASignup = await insertUser(db, {
      id: randomUUID(),
      email: 'operator-unverified@example.test',
      username: 'opu',
      name: null,
      password_hash: 'x',
      email_verified: false,
    });

    expect(await deleteExpiredSignups(db)).toBe(1);
    expect(await findUserById(db, expired.id)).toBeUndefined();
    for (const kept of [fresh, verifiedLate, notASignup]) expect(await findUserById(db, kept.id)).toBeDefined();
    expect(await deleteExpiredSignups(db)).toBe(0);
  });
});
