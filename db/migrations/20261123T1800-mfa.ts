import { type Kysely, sql } from 'kysely';

/**
 * TOTP MFA: one authenticator per user (its secret encrypted at rest), single-use recovery codes
 * stored as hashes, and the two switches that demand MFA: per role (on for admin) and per client.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('totp_factors')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('secret_encrypted', 'text', (c) => c.notNull())
    .addColumn('confirmed_at', 'timestamptz')
    // The last 30-second step accepted: a code of that step or an earlier one is a replay.
    .addColumn('last_used_step', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('recovery_codes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('recovery_codes_user_id_idx').on('recovery_codes').column('user_id').execute();
  await db.schema
    .alterTable('roles')
    .addColumn('requires_mfa', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.updateTable('roles').set({ requires_mfa: true }).where('name', '=', 'admin').execute();
  await db.schema
    .alterTable('clients')
    .addColumn('require_mfa', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('require_mfa').execute();
  await db.schema.alterTable('roles').dropColumn('requires_mfa').execute();
  await db.schema.dropTable('recovery_codes').execute();
  await db.schema.dropTable('totp_factors').execute();
}
