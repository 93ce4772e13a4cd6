import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';

/**
 * A tamper-evident audit trail: each event carries a hash over its content and the previous
 * event's hash. `audit_chain` is one row: the newest event (appends lock it, so writers on every
 * node take turns) and the hash of the last event the retention sweep removed, where the chain
 * now starts. Existing events are chained here in id order. The hash is a frozen copy of the
 * app's version 1 encoding; it must not follow later changes.
 */
const GENESIS_HASH = '0'.repeat(64);
const BATCH = 1000;

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys((value as Record<string, unknown>)[key])]),
  );
}

function hashV1(prevHash: string, e: any): string {
  const content = [
    1,
    prevHash,
    e.id,
    e.at.toISOString(),
    e.type,
    e.user_id,
    e.client_id,
    e.actor,
    e.ip,
    e.user_agent,
    sortedKeys(e.details),
  ];
  return createHash('sha256').update(JSON.stringify(content)).digest('hex');
}

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('audit_events').addColumn('prev_hash', 'text').addColumn('hash', 'text').execute();

  let prev = GENESIS_HASH;
  let lastId: string | null = null;
  for (;;) {
    const { rows } = await sql<any>`
      select id::text as id, at, type, user_id, client_id, actor, ip, user_agent, details
      from audit_events where ${lastId === null ? sql`true` : sql`id > ${lastId}::bigint`}
      order by id limit ${BATCH}`.execute(db);
    if (!rows.length) break;
    const chained = rows.map((row: any) => {
      const hash = hashV1(prev, row);
      const link = sql`(${row.id}::bigint, ${prev}, ${hash})`;
      prev = hash;
      return link;
    });
    await sql`
      update audit_events as e set prev_hash = v.prev_hash, hash = v.hash
      from (values ${sql.join(chained)}) as v(id, prev_hash, hash)
      where e.id = v.id`.execute(db);
    lastId = rows[rows.length - 1].id;
  }

  await db.schema
    .alterTable('audit_events')
    .alterColumn('prev_hash', (c) => c.setNotNull())
    .alterColumn('hash', (c) => c.setNotNull())
    .execute();
  await db.schema
    .createTable('audit_chain')
    .addColumn('id', 'boolean', (c) => c.primaryKey().defaultTo(true).check(sql`id`))
    .addColumn('last_id', 'bigint')
    .addColumn('last_hash', 'text', (c) => c.notNull())
    .addColumn('swept_through_id', 'bigint')
    .addColumn('swept_hash', 'text', (c) => c.notNull())
    .execute();
  await sql`
    insert into audit_chain (id, last_id, last_hash, swept_hash)
    values (true, ${lastId}::bigint, ${prev}, ${GENESIS_HASH})`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_chain').execute();
  await db.schema.alterTable('audit_events').dropColumn('prev_hash').dropColumn('hash').execute();
}
