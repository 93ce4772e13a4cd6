import type { Db } from '../database.ts';
import type { WebAuthnPurpose } from '../schema.ts';

export async function insertChallenge(
  db: Db,
  challenge: {
    challenge_hash: string;
    purpose: WebAuthnPurpose;
    bound_to: string;
    user_id: string | null;
    expires_at: Date;
  },
): Promise<void> {
  await db.insertInto('webauthn_challenges').values(challenge).execute();
}

/**
 * Spends a challenge in one statement: only where it was bound, for its purpose, before it
 * expires, and once. Answers the account it was for (null for a passkey sign-in), or undefined.
 */
export async function spendChallenge(
  db: Db,
  challengeHash: string,
  purpose: WebAuthnPurpose,
  boundTo: string,
): Promise<{ user_id: string | null } | undefined> {
  return db
    .deleteFrom('webauthn_challenges')
    .where('challenge_hash', '=', challengeHash)
    .where('purpose', '=', purpose)
    .where('bound_to', '=', boundTo)
    .where('expires_at', '>', new Date())
    .returning('user_id')
    .executeTakeFirst();
}

export async function deleteExpiredChallenges(db: Db): Promise<number> {
  const result = await db.deleteFrom('webauthn_challenges').where('expires_at', '<=', new Date()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
