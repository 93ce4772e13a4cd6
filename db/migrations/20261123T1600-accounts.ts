import { type Kysely, sql } from 'kysely';

/**
 * Self-service accounts: single-use email tokens (stored hashed), rate-limit counters for the
 * single-node store, and the account each oidc-provider artifact belongs to, so a password reset
 * or an account deletion can end every session and grant of one user by index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('email_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('purpose', 'text', (c) => c.notNull().check(sql`purpose in ('verify_email', 'reset_password')`))
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('consumed_at', 'timestamptz')
    .execute();
  await sql`create index email_tokens_user on email_tokens (user_id, purpose)`.execute(db);
  await sql`create index email_tokens_expiry on email_tokens (expires_at)`.execute(db);

  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index rate_limits_expiry on rate_limits (expires_at)`.execute(db);

  await db.schema.alterTable('oidc_payloads').addColumn('account_id', 'text').execute();
  await sql`update oidc_payloads set account_id = payload->>'accountId'`.execute(db);
  await sql`create index oidc_payloads_account on oidc_payloads (account_id, type) where account_id is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('oidc_payloads').dropColumn('account_id').execute();
  await db.schema.dropTable('rate_limits').execute();
  await db.schema.dropTable('email_tokens').execute();
}
