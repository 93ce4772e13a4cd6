import { type Kysely, sql } from 'kysely';

/**
 * The mail outbox: a mail is a row written in the same transaction as the action that causes it,
 * and a worker on each node sends it later, retrying while SMTP is down. A row holds what the mail
 * is about (its kind, recipient and ids), never a link: links are minted when the mail is sent.
 * A worker claims a row by setting a lease (lease_until, lease_token) that another node may take
 * over once it has expired.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('mail_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('state', 'text', (c) =>
      c.notNull().defaultTo('pending').check(sql`state in ('pending', 'sent', 'skipped', 'failed')`),
    )
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lease_until', 'timestamptz')
    .addColumn('lease_token', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .execute();
  // What the workers poll: pending rows by due time.
  await db.schema
    .createIndex('mail_outbox_due_idx')
    .on('mail_outbox')
    .column('next_attempt_at')
    .where(sql.ref('state'), '=', 'pending')
    .execute();
  // What the sweep deletes: finished rows by age.
  await db.schema
    .createIndex('mail_outbox_finished_idx')
    .on('mail_outbox')
    .column('finished_at')
    .where(sql.ref('finished_at'), 'is not', null)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('mail_outbox').execute();
}
