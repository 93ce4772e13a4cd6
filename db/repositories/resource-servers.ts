import type { Insertable, Updateable } from 'kysely';
import type { Db } from '../database.ts';
import type { ResourceServerRow, ResourceServersTable } from '../schema.ts';

export async function insertResourceServer(db: Db, row: Insertable<ResourceServersTable>) {
  return db.insertInto('resource_servers').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findResourceServer(db: Db, audience: string): Promise<ResourceServerRow | undefined> {
  return db.selectFrom('resource_servers').selectAll().where('audience', '=', audience).executeTakeFirst();
}

export async function listResourceServers(db: Db): Promise<ResourceServerRow[]> {
  return db.selectFrom('resource_servers').selectAll().orderBy('created_at').execute();
}

export async function deleteResourceServer(db: Db, audience: string): Promise<boolean> {
  const result = await db.deleteFrom('resource_servers').where('audience', '=', audience).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

export async function findResourceServerById(db: Db, id: string): Promise<ResourceServerRow | undefined> {
  return db.selectFrom('resource_servers').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateResourceServer(
  db: Db,
  id: string,
  patch: Updateable<ResourceServersTable>,
): Promise<ResourceServerRow | undefined> {
  return db.updateTable('resource_servers').set(patch).where('id', '=', id).returningAll().executeTakeFirst();
}

/** The rows of the APIs with these audiences; audiences not registered are simply absent. */
export async function findResourceServersByAudience(db: Db, audiences: string[]): Promise<ResourceServerRow[]> {
  if (audiences.length === 0) return [];
  return db.selectFrom('resource_servers').selectAll().where('audience', 'in', audiences).execute();
}
