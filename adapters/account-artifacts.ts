import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * One user's sessions and grants, as the account page lists and ends them. Every query is scoped
 * by `account_id`, so a user can only ever touch their own. Ending a grant deletes it and every
 * token issued from it; ending a session also ends the grants made in it.
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
    const authorizations = (session.payload.authorizations ?? {}) as Record<string, { grantId?: string }>;
    const grantIds = Object.values(authorizations).flatMap((a) => (a.grantId ? [a.grantId] : []));
    await revokeGrantsOf(trx, accountId, grantIds);
    return true;
  });
}
