import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * One user's sessions and grants, as the account page lists and ends them. Every query is scoped
 * by `account_id`, so a user can only ever touch their own. Ending a grant deletes it and every
 * token issued from it; ending a session also ends the grants made in it. A session to keep is
 * named by its `uid` (kept in the payload as is), never by its stored id, whose form is the
 * adapter's business.
 */
export interface StoredArtifact {
  id: string;
  payload: Record<string, unknown>;
  expires_at: Date | null;
}

export async function listArtifactsOf(db: Db, accountId: string, type: 'Session' | 'Grant'): Promise<StoredArtifact[]> {
  return db
    .selectFrom('oidc_payloads')
    .select(['id', 'payload', 'expires_at'])
    .where('account_id', '=', accountId)
    .where('type', '=', type)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date())]))
    .execute();
}

export async function revokeGrantsOf(db: Db, accountId: string, grantIds: string[]): Promise<number> {
  if (grantIds.length === 0) return 0;
  const result = await db
    .deleteFrom('oidc_payloads')
    .where('account_id', '=', accountId)
    .where((eb) =>
      eb.or([eb('grant_id', 'in', grantIds), eb.and([eb('type', '=', 'Grant'), eb('id', 'in', grantIds)])]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

const grantIdsOf = (session: Record<string, unknown>) =>
  Object.values((session.authorizations ?? {}) as Record<string, { grantId?: string }>).flatMap((a) =>
    a.grantId ? [a.grantId] : [],
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
  return db.transaction().execute(async (trx) => {
    const kept = keepSessionUid
      ? await trx
          .selectFrom('oidc_payloads')
          .select('payload')
          .where('account_id', '=', accountId)
          .where('type', '=', 'Session')
          .where('uid', '=', keepSessionUid)
          .executeTakeFirst()
      : undefined;
    const keptGrants = kept ? grantIdsOf(kept.payload) : [];
    const result = await trx
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
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

/** Ends one session of the user and the grants it holds; false when it is not theirs or gone. */
export async function revokeSessionOf(db: Db, accountId: string, sessionId: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const session = await trx
      .deleteFrom('oidc_payloads')
      .where('account_id', '=', accountId)
      .where('type', '=', 'Session')
      .where('id', '=', sessionId)
      .returning(sql<Record<string, unknown>>`payload`.as('payload'))
      .executeTakeFirst();
    if (!session) return false;
    await revokeGrantsOf(trx, accountId, grantIdsOf(session.payload));
    return true;
  });
}
