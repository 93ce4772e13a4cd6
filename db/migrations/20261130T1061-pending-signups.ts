import { type Kysely, sql } from 'kysely';

/**
 * A self-service sign-up is pending until its address is verified: `pending_until` says when it
 * is deleted if never verified, and `pending_username` holds the username it asked for, claimed
 * only at verification, so an unverified sign-up reserves nothing another sign-up could notice.
 * Unverified accounts already here (those with no roles, as sign-ups have none) get the full
 * period from the upgrade, and keep the username they have.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('pending_username', 'text')
    .addColumn('pending_until', 'timestamptz')
    .execute();
  await sql`create index users_pending_until on users (pending_until) where pending_until is not null`.execute(db);
  await sql`
    update users set pending_until = now() + interval '7 days'
    where not email_verified and not exists (select 1 from user_roles where user_roles.user_id = users.id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('pending_username').dropColumn('pending_until').execute();
}
