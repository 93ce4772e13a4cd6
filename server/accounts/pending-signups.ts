import type { Db } from '../../db/database.ts';
import { deleteExpiredPendingSignups } from '../../db/repositories/users.ts';
import type { User } from '../../db/schema.ts';

/**
 * A self-service sign-up holds its address only until it is verified or expires: a sign-up never
 * verified is deleted 7 days after it was made (the verification link lives 24 hours and can be
 * sent again meanwhile), so nobody can hold an address they cannot read.
 */
export const PENDING_SIGNUP_DAYS = 7;

export const pendingSignupDeadline = (from = new Date()) => new Date(from.getTime() + PENDING_SIGNUP_DAYS * 86_400_000);

/** A self-service sign-up never verified (not, say, an imported account whose address is unverified). */
export const isPendingSignup = (user: Pick<User, 'email_verified' | 'pending_until'>) =>
  !user.email_verified && user.pending_until !== null;

/** Deletes the sign-ups past their deadline; returns how many went. */
export function deleteExpiredSignups(db: Db): Promise<number> {
  return deleteExpiredPendingSignups(db, new Date());
}
