import type { Insertable } from 'kysely';
import type { Db } from '../database.ts';
import type { SigningKeyRow, SigningKeysTable } from '../schema.ts';

export async function listSigningKeys(db: Db): Promise<SigningKeyRow[]> {
  return db.selectFrom('signing_keys').selectAll().orderBy('activates_at', 'desc').execute();
}

export async function insertSigningKey(db: Db, row: Insertable<SigningKeysTable>): Promise<void> {
  await db.insertInto('signing_keys').values(row).execute();
}

/** Retires every key of `alg` from `at` on, unless it retires sooner already. */
export async function retireSigningKeys(db: Db, alg: SigningKeyRow['alg'], at: Date): Promise<void> {
  await db
    .updateTable('signing_keys')
    .set({ retired_at: at })
    .where('alg', '=', alg)
    .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', at)]))
    .execute();
}

export async function deleteSigningKeysRetiredBefore(db: Db, before: Date): Promise<number> {
  const result = await db.deleteFrom('signing_keys').where('retired_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
