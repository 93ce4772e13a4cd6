import type { Db } from '../../db/database.ts';
import { claimPendingUsername, dropPendingUsername, markEmailVerified } from '../../db/repositories/users.ts';
import type { Audit } from '../audit/audit.ts';
import { consumeEmailToken } from './email-tokens.ts';

/**
 * Spends a verification link; true when it verified the address it was sent to. Spending the link
 * and marking the address are one transaction, so a database failing between them leaves the link
 * unspent, to be used again. A sign-up gets the username it asked for now, not before, and goes
 * without one if someone verified first.
 */
export async function verifyEmail(db: Db, audit: Audit, token: string, seen: { ip: string; userAgent: string }) {
  const spent = await db.transaction().execute(async (trx) => {
    const row = await consumeEmailToken(trx, token, 'verify_email');
    return row && (await markEmailVerified(trx, row.user_id, row.email)) ? row : undefined;
  });
  if (!spent) return false;
  // After the commit: a username taken meanwhile fails this statement alone, not the verification.
  const claimed = await claimPendingUsername(db, spent.user_id).catch(async (err: { code?: string }) => {
    if (err.code !== '23505') throw err;
    await dropPendingUsername(db, spent.user_id);
    return false;
  });
  await audit({ type: 'email.verified', userId: spent.user_id, ...seen, details: { username_claimed: claimed } });
  return true;
}
