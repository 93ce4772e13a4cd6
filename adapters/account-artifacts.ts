import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { artifactKey } from './artifact-key.ts';

/**
 * One user's sessions and grants, as the account page lists and ends them. Every query is scoped
 * by `account_id`, so a user can only ever touch their own. Ending a grant deletes it and every
 * token issued from it; ending a session also ends the grants made in it. Sessions and grants are
 * named by the key they are stored under (the hash of their id), never by the session cookie.
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
    const authorizations = (session.payload.authorizations ?? {}) as Record<string, { grantId?: string }>;
    const grantKeys = Object.values(authorizations).flatMap((a) => (a.grantId ? [artifactKey(a.grantId)] : []));
    await revokeGrantsOf(trx, accountId, grantKeys);
    return true;
  });
}
