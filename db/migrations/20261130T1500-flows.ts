import { type Kysely, sql } from 'kysely';

/**
 * Device-flow clients (RFC 8628: public, like spa clients, so they hold no secret), a client's
 * back-channel logout URI, and the queue of logout tokens to send. A queued logout names the
 * client, the user and the session id it ended; a worker on each node claims it under a lease,
 * posts the signed token, and deletes the row. The queue is written in the same transaction that
 * ends the sessions, so the CLI (which has no signing provider) ends sessions the same way.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table clients drop constraint if exists clients_type_check`.execute(db);
  await sql`alter table clients add constraint clients_type_check
    check (type in ('web', 'spa', 'machine', 'device'))`.execute(db);
  await sql`alter table clients drop constraint clients_secret_by_auth`.execute(db);
  await sql`alter table clients add constraint clients_secret_by_auth check (
    case when type in ('spa', 'device') then secret_encrypted is null
    else secret_encrypted is not null or token_endpoint_auth_method = 'private_key_jwt' end)`.execute(db);
  await db.schema.alterTable('clients').addColumn('backchannel_logout_uri', 'text').execute();

  await db.schema
    .createTable('backchannel_logouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('sid', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lease_until', 'timestamptz')
    .addColumn('lease_token', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createIndex('backchannel_logouts_due_idx')
    .on('backchannel_logouts')
    .column('next_attempt_at')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('backchannel_logouts').execute();
  await db.schema.alterTable('clients').dropColumn('backchannel_logout_uri').execute();
  await sql`delete from clients where type = 'device'`.execute(db);
  await sql`alter table clients drop constraint clients_secret_by_auth`.execute(db);
  await sql`alter table clients add constraint clients_secret_by_auth check (
    case when type = 'spa' then secret_encrypted is null
    else secret_encrypted is not null or token_endpoint_auth_method = 'private_key_jwt' end)`.execute(db);
  await sql`alter table clients drop constraint clients_type_check`.execute(db);
  await sql`alter table clients add constraint clients_type_check
    check (type in ('web', 'spa', 'machine'))`.execute(db);
}
