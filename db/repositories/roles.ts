import type { Db } from '../database.ts';
import { pendingSignup } from './users.ts';

const ROLE_COLUMNS = ['id', 'name', 'description', 'requires_mfa'] as const;

export async function insertRole(
  db: Db,
  role: { id: string; name: string; description: string | null; requires_mfa: boolean },
) {
  await db.insertInto('roles').values(role).execute();
}

export async function findRoleByName(db: Db, name: string) {
  return db.selectFrom('roles').selectAll().where('name', '=', name).executeTakeFirst();
}

/** The ids of the named roles; names that do not exist are returned as `missing`. */
export async function resolveRoleNames(db: Db, names: string[]) {
  const rows = names.length
    ? await db.selectFrom('roles').select(['id', 'name']).where('name', 'in', names).execute()
    : [];
  const found = new Set(rows.map((r) => r.name));
  return { ids: rows.map((r) => r.id), missing: names.filter((n) => !found.has(n)) };
}

/**
 * How many enabled users hold the role, not counting sign-ups never verified (they are deleted
 * when they expire). With `lock`, the role's row is locked first, until the transaction ends, so
 * transactions counting it run one after another; the lock (no key update) lets rows naming the
 * role be inserted meanwhile.
 */
export async function countEnabledHolders(db: Db, roleName: string, options: { lock?: boolean } = {}) {
  if (options.lock) await db.selectFrom('roles').select('id').where('name', '=', roleName).forNoKeyUpdate().execute();
  const { n } = await db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('users.disabled_at', 'is', null)
    .where((eb) => eb.not(pendingSignup(eb)))
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('user_roles')
          .innerJoin('roles', 'roles.id', 'user_roles.role_id')
          .select('user_roles.user_id')
          .whereRef('user_roles.user_id', '=', 'users.id')
          .where('roles.name', '=', roleName),
      ),
    )
    .executeTakeFirstOrThrow();
  return Number(n);
}

export async function userRoleNames(db: Db, userId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('user_roles')
    .innerJoin('roles', 'roles.id', 'user_roles.role_id')
    .select('roles.name')
    .where('user_roles.user_id', '=', userId)
    .orderBy('roles.name')
    .execute();
  return rows.map((r) => r.name);
}

export async function setUserRoles(db: Db, userId: string, roleIds: string[]): Promise<void> {
  await db.deleteFrom('user_roles').where('user_id', '=', userId).execute();
  if (roleIds.length > 0) {
    await db
      .insertInto('user_roles')
      .values(roleIds.map((role_id) => ({ user_id: userId, role_id })))
      .execute();
  }
}

export async function listRoleRows(db: Db) {
  return db.selectFrom('roles').select(ROLE_COLUMNS).orderBy('name').execute();
}

export async function findRoleById(db: Db, id: string) {
  return db.selectFrom('roles').select(ROLE_COLUMNS).where('id', '=', id).executeTakeFirst();
}

export async function updateRole(
  db: Db,
  id: string,
  patch: { description?: string | null; requires_mfa?: boolean },
): Promise<boolean> {
  const result = await db.updateTable('roles').set(patch).where('id', '=', id).executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function deleteRoleRow(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('roles').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
