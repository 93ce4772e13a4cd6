import type { Db } from '../db/database.ts';
import { type LogoutTarget, queueLogouts } from '../db/repositories/backchannel-logouts.ts';

/**
 * The one place where ending sessions outside /session/end (sign out everywhere, a password reset
 * or change, an admin or the CLI disabling a user, one session ended on /account) queues the
 * back-channel logouts owed to the apps signed in through them: one per app of each ended
 * session, in the transaction that ends it. The server's sender posts them (server/logout/).
 * Clients without a back-channel logout URI are skipped there, where the client is known.
 */
export async function queueLogoutsOfSessions(db: Db, accountId: string, sessions: unknown[]): Promise<void> {
  await queueLogouts(
    db,
    sessions.flatMap((session) => logoutTargetsOf(accountId, session)),
  );
}

function logoutTargetsOf(accountId: string, session: unknown): LogoutTarget[] {
  const authorizations = (session as { authorizations?: Record<string, { sid?: unknown }> } | null)?.authorizations;
  return Object.entries(authorizations ?? {}).flatMap(([clientId, { sid }]) =>
    typeof sid === 'string' ? [{ client_id: clientId, account_id: accountId, sid }] : [],
  );
}

/** Runs `work` in the caller's transaction, or in a new one. */
export function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}
