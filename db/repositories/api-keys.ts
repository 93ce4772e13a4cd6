import { type Insertable, type Selectable, sql } from 'kysely';
import type { Db } from '../database.ts';
import type { ApiKeysTable } from '../schema.ts';

export type ApiKeyRow = Selectable<ApiKeysTable> & { roles: string[] };

const withRoles = (db: Db) =>
  db
    .selectFrom('api_keys')
    .selectAll('api_keys')
    .select((eb) =>
      eb.fn
        .coalesce(
          eb
            .selectFrom('api_key_roles')
            .innerJoin('roles', 'roles.id', 'api_key_roles.role_id')
            .whereRef('api_key_roles.api_key_id', '=', 'api_keys.id')
            .select(sql<string[]>`array_agg(roles.name order by roles.name)`.as('names')),
          sql<string[]>`'{}'::text[]`,
        )
        .as('roles'),
    );

export async function insertApiKey(db: Db, row: Insertable<ApiKeysTable>, roleIds: string[]): Promise<void> {
  await db.insertInto('api_keys').values(row).execute();
  if (roleIds.length) {
    await db
      .insertInto('api_key_roles')
      .values(roleIds.map((role_id) => ({ api_key_id: row.id, role_id })))
      .execute();
  }
}

export async function findApiKeyByHash(db: Db, keyHash: string): Promise<ApiKeyRow | undefined> {
  return (await withRoles(db).where('key_hash', '=', keyHash).executeTakeFirst()) as ApiKeyRow | undefined;
}

export async function findApiKey(db: Db, id: string): Promise<ApiKeyRow | undefined> {
  return (await withRoles(db).where('id', '=', id).executeTakeFirst()) as ApiKeyRow | undefined;
}

export async function listApiKeyRows(db: Db): Promise<ApiKeyRow[]> {
  return (await withRoles(db).orderBy('created_at').orderBy('id').execute()) as ApiKeyRow[];
}

export async function touchApiKey(db: Db, id: string): Promise<void> {
  await db.updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', id).execute();
}

export async function revokeApiKeyRow(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
