import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../database.ts';
import type { NewUser } from '../schema.ts';

/**
 * The queries of `tessera users import`: whole batches in a few statements each (multi-row
 * inserts, `in` lists), so a hundred thousand users take seconds. Run them in the batch's
 * transaction.
 */

/**
 * How many rows one insert carries. Postgres takes at most 65,535 parameters a statement, so the
 * default stays well below; `small` keeps each statement's message under ~32 KB, for the embedded
 * database served on a socket, where a message split across reads can let the server's own
 * queries run between its parts.
 */
export type StatementSize = 'large' | 'small';
const ROWS = { large: 2_000, small: 100 } as const;

function* chunks<T>(rows: T[], size: StatementSize): Generator<T[]> {
  for (let i = 0; i < rows.length; i += ROWS[size]) yield rows.slice(i, i + ROWS[size]);
}

export interface ExistingUser {
  id: string;
  email: string;
  username: string | null;
  name: string | null;
  email_verified: boolean;
  password_hash: string | null;
  password_imported_at: Date | null;
  roles: string[];
  has_totp: boolean;
}

/**
 * The users holding these addresses (any case), with their role names and whether a TOTP factor
 * is on. The keys are joined as an array, not matched with `in`, so the planner walks the unique
 * index for each instead of scanning the table (which, without fresh statistics, it would).
 */
export async function findUsersByEmails(db: Db, emails: string[]): Promise<ExistingUser[]> {
  if (emails.length === 0) return [];
  const keys = emails.map((e) => e.toLowerCase());
  const { rows } = await sql<ExistingUser>`
    select u.id, u.email, u.username, u.name, u.email_verified, u.password_hash, u.password_imported_at,
      coalesce((select array_agg(r.name) from user_roles ur join roles r on r.id = ur.role_id
                where ur.user_id = u.id), '{}'::text[]) as roles,
      exists (select 1 from totp_factors t where t.user_id = u.id and t.confirmed_at is not null) as has_totp
    from unnest(${keys}::text[]) as k(key) join users u on lower(u.email) = k.key`.execute(db);
  return rows;
}

/** Who holds each of these usernames (any case), keyed by the lower-cased username. */
export async function findUsernameHolders(db: Db, usernames: string[]): Promise<Map<string, string>> {
  if (usernames.length === 0) return new Map();
  const keys = usernames.map((u) => u.toLowerCase());
  const { rows } = await sql<{ id: string; key: string }>`
    select u.id, k.key from unnest(${keys}::text[]) as k(key) join users u on lower(u.username) = k.key`.execute(db);
  return new Map(rows.map((r) => [r.key, r.id]));
}

/** The names among these that are no role yet. */
export async function missingRoleNames(db: Db, names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const rows = await db.selectFrom('roles').select('name').where('name', 'in', names).execute();
  const found = new Set(rows.map((r) => r.name));
  return names.filter((n) => !found.has(n));
}

/** Makes the roles that do not exist yet; answers the ids of all of them and the names made now. */
export async function ensureRoles(db: Db, names: string[]): Promise<{ ids: Map<string, string>; created: string[] }> {
  if (names.length === 0) return { ids: new Map(), created: [] };
  const created = await db
    .insertInto('roles')
    .values(names.map((name) => ({ id: randomUUID(), name, description: 'Imported with users', requires_mfa: false })))
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('name')
    .execute();
  const rows = await db.selectFrom('roles').select(['id', 'name']).where('name', 'in', names).execute();
  return { ids: new Map(rows.map((r) => [r.name, r.id])), created: created.map((r) => r.name) };
}

export async function insertUsers(db: Db, users: NewUser[], size: StatementSize): Promise<void> {
  for (const rows of chunks(users, size)) await db.insertInto('users').values(rows).execute();
}

export async function grantRoles(
  db: Db,
  grants: { user_id: string; role_id: string }[],
  size: StatementSize,
): Promise<void> {
  for (const rows of chunks(grants, size)) {
    await db
      .insertInto('user_roles')
      .values(rows)
      .onConflict((oc) => oc.columns(['user_id', 'role_id']).doNothing())
      .execute();
  }
}

/** Confirmed TOTP factors with these sealed secrets; a confirmed factor already there is kept. */
export async function insertConfirmedTotp(
  db: Db,
  factors: { user_id: string; secret_encrypted: string }[],
  size: StatementSize,
) {
  const now = new Date();
  for (const rows of chunks(factors, size)) {
    await db
      .insertInto('totp_factors')
      .values(rows.map((f) => ({ ...f, confirmed_at: now, created_at: now })))
      .onConflict((oc) =>
        oc
          .column('user_id')
          .doUpdateSet((eb) => ({
            secret_encrypted: eb.ref('excluded.secret_encrypted'),
            confirmed_at: now,
            last_used_step: null,
            created_at: now,
          }))
          .where('totp_factors.confirmed_at', 'is', null),
      )
      .execute();
  }
}

export interface UserChanges {
  username?: string;
  name?: string;
  email_verified?: true;
  password_hash?: string;
}

/** Applies an import's changes to one user; a new password hash is marked imported. */
export async function updateImportedUser(db: Db, id: string, changes: UserChanges): Promise<void> {
  const verified = changes.email_verified ? { pending_until: null } : {};
  const password = changes.password_hash ? { password_imported_at: new Date() } : {};
  await db
    .updateTable('users')
    .set({ ...changes, ...verified, ...password, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}
