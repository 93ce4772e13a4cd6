import type { Db } from '../database.ts';

/** Bumped by triggers whenever clients, APIs, roles or signing keys change. */
export async function readConfigVersion(db: Db): Promise<number> {
  const row = await db.selectFrom('config_version').select('version').executeTakeFirstOrThrow();
  return row.version;
}
