import { type Kysely, sql } from 'kysely';

/**
 * Sign-in through another identity provider (GitHub). An identity is keyed by the provider's
 * stable subject (GitHub's numeric user id, never the login, which can change); a user holds at
 * most one identity per provider. Accounts made through GitHub have no password, hence the
 * nullable password_hash the accounts migration already allows.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('federated_identities')
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // The name the provider showed last, for the account page only.
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('linked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('federated_identities_pkey', ['provider', 'subject'])
    .addUniqueConstraint('federated_identities_user_provider_key', ['user_id', 'provider'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('federated_identities').execute();
}
