import { sql } from 'kysely';
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

/** Selected when deleting artifact rows: the payload of each deleted session, for the logouts it owes. */
export const deletedSessionPayload = sql<unknown>`case when type = 'Session' then payload end`.as('session');

/** Queues the logouts owed by the sessions among deleted rows (see deletedSessionPayload); returns how many rows went. */
export async function queueLogoutsOfDeleted(db: Db, accountId: string, rows: { session: unknown }[]): Promise<number> {
  await queueLogoutsOfSessions(
    db,
    accountId,
    rows.flatMap((r) => (r.session ? [r.session] : [])),
  );
  return rows.length;
}

function logoutTargetsOf(accountId: string, session: unknown): LogoutTarget[] {
  const authorizations = (session as { authorizations?: Record<string, { sid?: unknown }> } | null)?.authorizations;
  return Object.entries(authorizations ?? {}).flatMap(([clientId, { sid }]) =>
    typeof sid === 'string' ? [{ client_id: clientId, account_id: accountId, sid }] : [],
  );
}
