import { type Kysely, sql } from 'kysely';

/**
 * What the admin console needs from the database:
 * - invitations: a mailed single-use link with which a person an operator invited sets their
 *   first password (a third purpose of email tokens);
 * - counts per day for the overview's chart, one row per day and kind: audit events by type
 *   (added to with each append) and tokens issued (which the log does not hold; added to by each
 *   node every few seconds, not per token);
 * - paged lists that stay fast with many rows: users in creation order, audit events by type or
 *   client and time (the user filter already has its index), and sessions counted by expiry.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table email_tokens drop constraint if exists email_tokens_purpose_check`.execute(db);
  await sql`
    alter table email_tokens add constraint email_tokens_purpose_check
    check (purpose in ('verify_email', 'reset_password', 'invitation'))`.execute(db);
  await db.schema
    .createTable('daily_counts')
    .addColumn('day', 'date', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('n', 'bigint', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('daily_counts_pk', ['day', 'kind'])
    .execute();
  // The chart's first month, from the log as it stands; appends keep the counts from now on.
  await sql`
    insert into daily_counts (day, kind, n)
    select (at at time zone 'UTC')::date, 'event:' || type, count(*)
    from audit_events where at > now() - interval '31 days'
    group by 1, 2`.execute(db);
  await sql`create index users_created on users (created_at, id)`.execute(db);
  await sql`create index audit_events_type on audit_events (type, at)`.execute(db);
  await sql`create index audit_events_client on audit_events (client_id, at) where client_id is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index audit_events_client`.execute(db);
  await sql`drop index audit_events_type`.execute(db);
  await sql`drop index users_created`.execute(db);
  await db.schema.dropTable('daily_counts').execute();
  await sql`delete from email_tokens where purpose = 'invitation'`.execute(db);
  await sql`alter table email_tokens drop constraint email_tokens_purpose_check`.execute(db);
  await sql`
    alter table email_tokens add constraint email_tokens_purpose_check
    check (purpose in ('verify_email', 'reset_password'))`.execute(db);
}
