import type { Db } from '../../db/database.ts';
import { markEmailVerified } from '../../db/repositories/users.ts';
import type { Audit } from '../audit/audit.ts';
import { consumeEmailToken } from './email-tokens.ts';

/** Spends a verification link; true when it verified the address it was sent to. */
export async function verifyEmail(db: Db, audit: Audit, token: string, seen: { ip: string; userAgent: string }) {
  const spent = await consumeEmailToken(db, token, 'verify_email');
  if (!spent || !(await markEmailVerified(db, spent.user_id, spent.email))) return false;
  await audit({ type: 'email.verified', userId: spent.user_id, ...seen });
  return true;
}
