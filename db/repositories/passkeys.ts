import type { Insertable } from 'kysely';
import type { Db } from '../database.ts';
import type { PasskeysTable } from '../schema.ts';

export async function insertPasskey(db: Db, passkey: Insertable<PasskeysTable>): Promise<boolean> {
  const inserted = await db
    .insertInto('passkeys')
    .values(passkey)
    .onConflict((oc) => oc.column('credential_id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function findPasskeyByCredentialId(db: Db, credentialId: string) {
  return db.selectFrom('passkeys').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
}

export async function listPasskeysOf(db: Db, userId: string) {
  return db.selectFrom('passkeys').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
}

export async function countPasskeysOf(db: Db, userId: string): Promise<number> {
  const row = await db
    .selectFrom('passkeys')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Records a use in one statement, only if the sign count moved forward (or the authenticator
 * does not count: 0 then and now). False means a count that went backwards or stood still, the
 * sign of a cloned authenticator, or a parallel use of the same assertion that got there first.
 */
export async function recordPasskeyUse(
  db: Db,
  id: string,
  signCount: number,
  flags: { backedUp: boolean },
): Promise<boolean> {
  const result = await db
    .updateTable('passkeys')
    .set({ sign_count: signCount, last_used_at: new Date(), backed_up: flags.backedUp })
    .where('id', '=', id)
    .where((eb) => (signCount === 0 ? eb('sign_count', '=', 0) : eb('sign_count', '<', signCount as unknown as string)))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deletePasskey(db: Db, userId: string, id: string): Promise<boolean> {
  const result = await db.deleteFrom('passkeys').where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Deletes every passkey of the user; how many there were. */
export async function deletePasskeysOf(db: Db, userId: string): Promise<number> {
  const result = await db.deleteFrom('passkeys').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
