import { revokeAllExceptSession } from '../../adapters/account-artifacts.ts';
import type { Db } from '../../db/database.ts';
import type { Audit } from '../audit/audit.ts';

/**
 * After a change to how an account signs in (a password set or changed, two-step verification
 * turned on or off, new recovery codes, GitHub or another connection linked, GitHub unlinked, a
 * passkey added or removed), wherever it was made, every other session and grant of the
 * account ends, with the tokens issued from them: whoever else holds one may be the reason for
 * the change. The session that made the change stays, and so do the grants it holds.
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

export async function endOtherSessions(
  deps: { db: Db; audit: Audit },
  userId: string,
  keepSessionUid: string | undefined,
  change: SignInChange,
  seen: { ip?: string; userAgent?: string },
): Promise<number> {
  const revoked = await revokeAllExceptSession(deps.db, userId, keepSessionUid);
  await deps.audit({ type: 'sessions.others_ended', userId, ...seen, details: { after: change, revoked } });
  return revoked;
}
