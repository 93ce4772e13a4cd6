import { sql } from 'kysely';
import { type Db, inTransaction } from '../db/database.ts';
import { artifactKey } from './artifact-key.ts';
import { deletedSessionPayload, queueLogoutsOfDeleted, queueLogoutsOfSessions } from './session-logouts.ts';

/**
 * One user's sessions and grants, as the account page lists and ends them, and as all of them end
 * at once (signing out everywhere, a new password, a disabled account, a removed factor). Every
 * query is scoped by `account_id`, so a user can only ever touch their own. Ending a grant deletes
 * it and every token issued from it; ending a session also ends the grants made in it. Sessions
 * and grants are named by the key they are stored under (the hash of their id), never by the
 * session cookie; a session to keep is named by its `uid` (kept in the payload as is). Every ended
 * session queues the back-channel logouts owed to its apps, in the same transaction
 * (session-logouts.ts).
 */
export interface StoredArtifact {
  /** The stored key: `artifactKey` of the session or grant id. */
  key: string;
  payload: Record<string, unknown>;
  expires_at: Date | null;
}

export async function listArtifactsOf(db: Db, accountId: string, type: 'Session' | 'Grant'): Promise<StoredArtifact[]> {
  return db
    .selectFrom('oidc_payloads')
    .select(['id as key', 'payload', 'expires_at'])
    .where('account_id', '=', accountId)
    .where('type', '=', type)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
    .execute();
}

/** Ends grants of the user named by their stored keys, and every token issued from them. */
export async function revokeGrantsOf(db: Db, accountId: string, grantKeys: string[]): Promise<number> {
  if (grantKeys.length === 0) return 0;
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('account_id', '=', accountId)
    .where((eb) =>
      eb.or([eb('grant_id', 'in', grantKeys), eb.and([eb('type', '=', 'Grant'), eb('id', 'in', grantKeys)])]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The stored keys of the grants a session holds. */
const grantKeysOf = (session: Record<string, unknown>) =>
  Object.values((session.authorizations ?? {}) as Record<string, { grantId?: string }>).flatMap((a) =>
    a.grantId ? [artifactKey(a.grantId)] : [],
  );

/**
 * Ends every session and grant of the user (and every token issued from them) except the session
 * whose uid is `keepSessionUid` and the grants that session holds; returns how many rows went.
 * With no such session of this user, everything of theirs ends.
 */
export async function revokeAllExceptSession(
  db: Db,
  accountId: string,
  keepSessionUid: string | undefined,
): Promise<number> {
  return inTransaction(db, async (trx) => {
    const kept = keepSessionUid
      ? await trx
          .selectFrom('oidc_payloads')
          .select('payload')
          .where('account_id', '=', accountId)
          .where('type', '=', 'Session')
          .where('uid', '=', keepSessionUid)
          .executeTakeFirst()
      : undefined;
    const keptGrants = kept ? grantKeysOf(kept.payload) : [];
    const rows = await trx
      .deleteFrom('oidc_payloads')
      .where('account_id', '=', accountId)
      .$if(kept !== undefined, (q) =>
        q.where((eb) => eb.not(eb.and([eb('type', '=', 'Session'), eb('uid', '=', keepSessionUid ?? '')]))),
      )
      .$if(keptGrants.length > 0, (q) =>
        q.where((eb) =>
          eb.and([
            eb.or([eb('grant_id', 'is', null), eb('grant_id', 'not in', keptGrants)]),
            eb.not(eb.and([eb('type', '=', 'Grant'), eb('id', 'in', keptGrants)])),
          ]),
        ),
      )
      .returning(deletedSessionPayload)
      .execute();
    return queueLogoutsOfDeleted(trx, accountId, rows);
  });
}

/** Ends one session of the user (by stored key) and the grants it holds; false when it is not theirs or gone. */
export async function revokeSessionOf(db: Db, accountId: string, sessionKey: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const session = await trx
      .deleteFrom('oidc_payloads')
      .where('account_id', '=', accountId)
      .where('type', '=', 'Session')
      .where('id', '=', sessionKey)
      .returning(sql<Record<string, unknown>>`payload`.as('payload'))
      .executeTakeFirst();
    if (!session) return false;
    await queueLogoutsOfSessions(trx, accountId, [session.payload]);
    await revokeGrantsOf(trx, accountId, grantKeysOf(session.payload));
    return true;
  });
}

/**
 * Ends everything one user holds: sessions, grants and every token issued from them. JWT access
 * tokens are not stored, but introspection answers them inactive once their grant is gone. The
 * apps signed in through the ended sessions are owed a back-channel logout: queued in the same
 * transaction.
 */
export async function revokeEverythingOf(db: Db, accountId: string): Promise<number> {
  return inTransaction(db, async (trx) => {
    const rows = await trx
      .deleteFrom('oidc_payloads')
      .where('account_id', '=', accountId)
      .returning(deletedSessionPayload)
      .execute();
    return queueLogoutsOfDeleted(trx, accountId, rows);
  });
}
