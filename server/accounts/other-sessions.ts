import { revokeAllExceptSession } from '../../adapters/account-artifacts.ts';
import type { Db } from '../../db/database.ts';
import type { AuditEventInput } from '../../db/repositories/audit-events.ts';
import type { Audit } from '../audit/audit.ts';

/**
 * A change to how an account signs in (a password set or changed, two-step verification turned
 * on or off, new recovery codes, GitHub or another connection linked, GitHub unlinked, a passkey
 * added or removed), wherever it is made, ends every other session and grant of the account, with
 * the tokens issued from them: whoever else holds one may be the reason for the change. The
 * session that made the change stays, and so do the grants it holds.
 */
export type SignInChange =
  | 'password_changed'
  | 'password_set'
  | 'mfa_enabled'
  | 'mfa_disabled'
  | 'recovery_codes_regenerated'
  | 'github_linked'
  | 'github_unlinked'
  | 'upstream_linked'
  | 'passkey_added'
  | 'passkey_removed';

export interface SignInChangeMade<T> {
  userId: string;
  /** The uid of the session making the change, which stays (none: every session ends). */
  keepSessionUid: string | undefined;
  change: SignInChange;
  seen: { ip?: string; userAgent?: string };
  /** Makes the change in the transaction it is given; answers what it gave, or false for no change. */
  make: (trx: Db) => Promise<T | false>;
  /** The change's own audit event, written once it is committed, before the sessions' one. */
  audited: AuditEventInput | ((made: T) => AuditEventInput);
}

/**
 * Makes the change and ends the other sessions in one transaction, so a database failing between
 * the two never leaves the change made with the old sessions alive (a retry would find it made and
 * end nothing). Answers what `make` gave, or false when it made no change: then nothing ends.
 */
export async function changeEndingOtherSessions<T>(
  deps: { db: Db; audit: Audit },
  { userId, keepSessionUid, change, seen, make, audited }: SignInChangeMade<T>,
): Promise<T | false> {
  const done = await deps.db.transaction().execute(async (trx) => {
    const made = await make(trx);
    return made === false ? undefined : { made, revoked: await revokeAllExceptSession(trx, userId, keepSessionUid) };
  });
  if (!done) return false;
  await deps.audit(typeof audited === 'function' ? audited(done.made) : audited);
  await deps.audit({
    type: 'sessions.others_ended',
    userId,
    ...seen,
    details: { after: change, revoked: done.revoked },
  });
  return done.made;
}
