import type { Db } from '../../db/database.ts';
import { markEmailVerified } from '../../db/repositories/users.ts';
import type { Audit } from '../audit/audit.ts';
import { consumeEmailToken } from './email-tokens.ts';

/**
 * Spends a verification link; true when it verified the address it was sent to. Both writes are
 * one transaction, so a database failing between them leaves the link unspent, to be used again.
 */
export async function verifyEmail(db: Db, audit: Audit, token: string, seen: { ip: string; userAgent: string }) {
  const spent = await db.transaction().execute(async (trx) => {
    const row = await consumeEmailToken(trx, token, 'verify_email');
    return row && (await markEmailVerified(trx, row.user_id, row.email)) ? row : undefined;
  });
  if (!spent) return false;
  await audit({ type: 'email.verified', userId: spent.user_id, ...seen });
  return true;
}
