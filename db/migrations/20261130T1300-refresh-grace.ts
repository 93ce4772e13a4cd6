import { type Kysely, sql } from 'kysely';

/**
 * The refresh grace window. A client's `refresh_grace_seconds` (default 5, 0 for none) is how
 * long a rotated refresh token presented again answers with the token it was rotated into,
 * instead of revoking the grant: two tabs refreshing at once both stay signed in. For that
 * window only, the spent row keeps its successor sealed with the at-rest key (`successor`) and
 * says until when (`grace_until`); the sweeper clears both once it has passed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('refresh_grace_seconds', 'integer', (c) => c.notNull().defaultTo(5))
    .execute();
  await db.schema
    .alterTable('oidc_payloads')
    .addColumn('successor', 'text')
    .addColumn('grace_until', 'timestamptz')
    .execute();
  await sql`create index oidc_payloads_grace_until on oidc_payloads (grace_until) where successor is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('oidc_payloads').dropColumn('successor').dropColumn('grace_until').execute();
  await db.schema.alterTable('clients').dropColumn('refresh_grace_seconds').execute();
}
