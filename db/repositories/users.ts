import { type ExpressionBuilder, sql } from 'kysely';
import { type Db, retryingDeadlocks } from '../database.ts';
import { preparedQuery } from '../prepared-query.ts';
import type { NewUser, Schema, User } from '../schema.ts';

export async function insertUser(db: Db, user: NewUser): Promise<User> {
  return db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
}

/** Locks the user's row until the transaction ends. */
export async function lockUser(db: Db, id: string): Promise<void> {
  await db.selectFrom('users').select('id').where('id', '=', id).forUpdate().execute();
}

export async function findUserById(db: Db, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

const findUserByLowerLogin = preparedQuery((db: Db, v: { key: string }) =>
  db
    .selectFrom('users')
    .selectAll()
    .where((eb) => eb.or([eb(sql`lower(email)`, '=', v.key), eb(sql`lower(username)`, '=', v.key)])),
);

/** By email or username, case-insensitively. */
export async function findUserByLogin(db: Db, login: string): Promise<User | undefined> {
  const [row] = await findUserByLowerLogin(db, { key: login.toLowerCase() });
  return row;
}

/** Stores a hash Tessera made; an imported hash it replaces is gone for good. */
export async function updatePasswordHash(db: Db, id: string, passwordHash: string): Promise<void> {
  await db
    .updateTable('users')
    .set({ password_hash: passwordHash, password_imported_at: null, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

export async function setUserDisabled(db: Db, id: string, disabled: boolean): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ disabled_at: disabled ? new Date() : null, updated_at: new Date() })
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export type UserWithRoles = User & { roles: string[] };

/** Users with the names of their roles, in one round trip. */
export function selectUsersWithRoles(db: Db) {
  return db.selectFrom('users').selectAll('users').select(roleNamesOfUser);
}

/** The names of a user's roles, sorted, as the column `roles` of a query over `users`. */
const roleNamesOfUser = (eb: ExpressionBuilder<Schema, 'users'>) =>
  eb.fn
    .coalesce(
      eb
        .selectFrom('user_roles')
        .innerJoin('roles', 'roles.id', 'user_roles.role_id')
        .whereRef('user_roles.user_id', '=', 'users.id')
        .select(sql<string[]>`array_agg(roles.name order by roles.name)`.as('names')),
      sql<string[]>`'{}'::text[]`,
    )
    .as('roles');

/** What an OpenID account is made of (its claims, whether it is disabled, its roles): no password hash. */
export type AccountUser = Pick<
  UserWithRoles,
  'id' | 'email' | 'email_verified' | 'name' | 'username' | 'disabled_at' | 'roles'
>;

/** Users as accounts, with the names of their roles, in one round trip. */
export function selectAccountUsers(db: Db) {
  return db
    .selectFrom('users')
    .select(['users.id', 'users.email', 'users.email_verified', 'users.name', 'users.username', 'users.disabled_at'])
    .select(roleNamesOfUser);
}

const findAccountUserById = preparedQuery((db: Db, v: { id: string }) =>
  selectAccountUsers(db).where('users.id', '=', v.id),
);

/** A user as an account (see AccountUser); the token endpoint's and sign-in's hot path. */
export async function findAccountUser(db: Db, id: string): Promise<AccountUser | undefined> {
  const [row] = await findAccountUserById(db, { id });
  return row;
}

/** A user and the names of their roles, in one round trip (the token endpoint's hot path). */
export async function findUserWithRoles(db: Db, id: string): Promise<UserWithRoles | undefined> {
  const row = await selectUsersWithRoles(db).where('users.id', '=', id).executeTakeFirst();
  return row as UserWithRoles | undefined;
}

/**
 * A page of users, oldest first, and how many match in all. `q` matches a case-insensitive
 * substring of the email, username or name (`%`, `_` and `\` in it are plain characters), on
 * the expression the trigram index `users_search` holds.
 */
export async function listUsersPage(
  db: Db,
  page: { q?: string | undefined; limit: number; offset: number },
): Promise<{ rows: UserWithRoles[]; total: number }> {
  const q = page.q?.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`);
  const matches = (eb: ExpressionBuilder<Schema, 'users'>) =>
    q
      ? eb(
          sql`lower(users.email || chr(10) || coalesce(users.username, '') || chr(10) || coalesce(users.name, ''))`,
          'like',
          `%${q}%`,
        )
      : eb.lit(true);
  // The page's ids first (an index scan over users_created), then their roles: the roles of the
  // rows an offset skips are never looked up.
  const ids = db
    .selectFrom('users')
    .select('id')
    .where(matches)
    .orderBy('created_at')
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset);
  const rows = selectUsersWithRoles(db).where('users.id', 'in', ids);
  const count = db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where(matches);
  const [found, total] = await Promise.all([
    rows.orderBy('users.created_at').orderBy('users.id').execute(),
    count.executeTakeFirstOrThrow(),
  ]);
  return { rows: found as UserWithRoles[], total: Number(total.n) };
}

/**
 * Changes what an operator may change of a user; false when there is no such user. Two usernames
 * swapped at once deadlock, so the write may go again.
 */
export async function updateUser(
  db: Db,
  id: string,
  patch: { name?: string | null; username?: string | null; email_verified?: boolean },
): Promise<boolean> {
  const verified = patch.email_verified ? { pending_until: null } : {};
  const result = await retryingDeadlocks(() =>
    db
      .updateTable('users')
      .set({ ...patch, ...verified, updated_at: new Date() })
      .where('id', '=', id)
      .executeTakeFirst(),
  );
  return result.numUpdatedRows > 0n;
}

/** Marks the address verified, if it is still the user's address; a pending sign-up no longer expires. */
export async function markEmailVerified(db: Db, id: string, email: string): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set({ email_verified: true, pending_until: null, updated_at: new Date() })
    .where('id', '=', id)
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Two people swapping usernames at once deadlock; the one PostgreSQL stops goes again. */
export async function updateProfile(db: Db, id: string, profile: { name: string; username: string }): Promise<void> {
  await retryingDeadlocks(() =>
    db
      .updateTable('users')
      .set({ ...profile, updated_at: new Date() })
      .where('id', '=', id)
      .execute(),
  );
}

/** Deletes the user; their roles and mailed links go with them (foreign keys cascade). */
export async function deleteUser(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * Gives a verified sign-up the username it asked for. Throws the unique violation (23505) when
 * someone else holds it by now; `dropPendingUsername` then gives up the claim.
 */
export async function claimPendingUsername(db: Db, id: string): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set((eb) => ({ username: eb.ref('pending_username'), pending_username: null, updated_at: new Date() }))
    .where('id', '=', id)
    .where('pending_username', 'is not', null)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function dropPendingUsername(db: Db, id: string): Promise<void> {
  await db.updateTable('users').set({ pending_username: null }).where('id', '=', id).execute();
}

/** A self-service sign-up never verified, as a condition on `users` (isPendingSignup in SQL). */
export const pendingSignup = (eb: ExpressionBuilder<Schema, 'users'>) =>
  eb.and([eb('users.email_verified', '=', false), eb('users.pending_until', 'is not', null)]);

/** Deletes a sign-up that is still pending (never verified); false when it is not (or is gone). */
export async function deletePendingSignup(db: Db, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).where(pendingSignup).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Deletes the sign-ups never verified by their deadline; returns how many went. */
export async function deleteExpiredPendingSignups(db: Db, now: Date): Promise<number> {
  const result = await db
    .deleteFrom('users')
    .where('email_verified', '=', false)
    .where('pending_until', '<', now)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
