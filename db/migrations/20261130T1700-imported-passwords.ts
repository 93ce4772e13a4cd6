import type { Kysely } from 'kysely';

/**
 * `password_imported_at` marks a password hash brought in by `tessera users import` (bcrypt,
 * PBKDF2, scrypt, argon2 as another system made it) that no sign-in or password change in Tessera
 * has replaced yet: the first sign-in rehashes it to argon2id, and only while it is set may a
 * later import replace the hash.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('password_imported_at', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('password_imported_at').execute();
}
