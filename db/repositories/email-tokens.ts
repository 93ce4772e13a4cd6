import type { Db } from '../database.ts';
import type { EmailTokensTable } from '../schema.ts';

type Purpose = EmailTokensTable['purpose'];

export async function insertEmailToken(
  db: Db,
  token: { token_hash: string; user_id: string; purpose: Purpose; email: string; expires_at: Date },
): Promise<void> {
  await db.insertInto('email_tokens').values(token).execute();
}

/** Spends every unspent token of this purpose, so only the newest link works. */
export async function retireEmailTokens(db: Db, userId: string, purpose: Purpose): Promise<void> {
  await db
    .updateTable('email_tokens')
    .set({ consumed_at: new Date() })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('consumed_at', 'is', null)
    .execute();
}

/** The live token with this hash, without spending it. */
export async function findLiveEmailToken(db: Db, tokenHash: string, purpose: Purpose) {
  return db
    .selectFrom('email_tokens')
    .select(['user_id', 'email'])
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', new Date())
    .executeTakeFirst();
}

/** Spends a live token in one statement, so two clicks cannot both use it. */
export async function consumeEmailTokenRow(db: Db, tokenHash: string, purpose: Purpose) {
  return db
    .updateTable('email_tokens')
    .set({ consumed_at: new Date() })
    .where('token_hash', '=', tokenHash)
    .where('purpose', '=', purpose)
    .where('consumed_at', 'is', null)
    .where('expires_at', '>', new Date())
    .returning(['user_id', 'email'])
    .executeTakeFirst();
}

export async function deleteExpiredEmailTokens(db: Db): Promise<number> {
  const result = await db.deleteFrom('email_tokens').where('expires_at', '<', new Date()).executeTakeFirst();
  return Number(result.numDeletedRows);
}
