import { type ExpressionBuilder, type Insertable, sql } from 'kysely';
import type { Db } from '../database.ts';
import { preparedQuery } from '../prepared-query.ts';
import type { AuditEventsTable, Schema } from '../schema.ts';
import { addingToDailyCounts } from './daily-counts.ts';

export interface AuditEventInput {
  type: string;
  userId?: string | undefined;
  clientId?: string | undefined;
  actor?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  details?: Record<string, unknown>;
}

export type ChainedAuditEvent = Insertable<AuditEventsTable> & { id: string; at: Date };

/** The chain's head, locked until the transaction ends: appends and sweeps take turns on it. */
export async function lockAuditChain(db: Db) {
  return db.selectFrom('audit_chain').select('last_hash').forUpdate().executeTakeFirstOrThrow();
}

/** The chain's head as it stands, unlocked (for verification, inside a snapshot). */
export async function readAuditChain(db: Db) {
  return db
    .selectFrom('audit_chain')
    .select([
      sql<string | null>`last_id::text`.as('last_id'),
      'last_hash',
      sql<string | null>`swept_through_id::text`.as('swept_through_id'),
      'swept_hash',
    ])
    .executeTakeFirstOrThrow();
}

/**
 * Locks the chain's head and takes ids and times for the next `count` events, oldest first, in one
 * statement. The lateral reference to the locked row makes PostgreSQL take the lock before it
 * draws the ids, so ids and times grow in chain order; milliseconds, because that is what a
 * JavaScript Date (and so the hash) holds.
 */
export async function lockAuditChainForSlots(
  db: Db,
  count: number,
): Promise<{ lastHash: string; slots: { id: string; at: Date }[] }> {
  const rows = await lockChainAndDrawSlots(db, { count });
  const first = rows[0];
  if (!first) throw new Error('the audit chain has no head row');
  const slots = rows.map(({ id, at }) => ({ id, at })).sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  return { lastHash: first.last_hash, slots };
}

const lockChainAndDrawSlots = preparedQuery(
  (_db: Db, v: { count: number }) => sql<{ last_hash: string; id: string; at: Date }>`
    select slot.last_hash, slot.id, slot.at
    from (select last_hash from audit_chain for update) as head
    cross join lateral (
      select head.last_hash,
             nextval(pg_get_serial_sequence('audit_events', 'id'))::text as id,
             date_trunc('milliseconds', clock_timestamp()) as at
      from generate_series(1, ${v.count}::int)
    ) as slot`,
);

/**
 * Inserts chained events, adds them to the day's counts (`counts`, by kind), and moves the chain's
 * head to the last of them, in one statement.
 */
export async function insertAuditEventsAndAdvance(
  db: Db,
  events: ChainedAuditEvent[],
  counts: Map<string, number>,
  lastId: string,
  lastHash: string,
): Promise<void> {
  await db
    .with('inserted', (q) => q.insertInto('audit_events').values(events))
    .with('counted', (q) => addingToDailyCounts(q, counts))
    .updateTable('audit_chain')
    .set({ last_id: lastId, last_hash: lastHash })
    .execute();
}

/** Events in chain order (by id, not by the text alias) after `afterId` (all when null) up to `throughId`, at most `limit`. */
export async function listChainedAuditEvents(db: Db, afterId: string | null, throughId: string, limit: number) {
  return db
    .selectFrom('audit_events')
    .select([
      sql<string>`id::text`.as('id'),
      'at',
      'type',
      'user_id',
      'client_id',
      'actor',
      'ip',
      'user_agent',
      'details',
      'prev_hash',
      'hash',
    ])
    .$if(afterId !== null, (q) => q.where('id', '>', afterId ?? ''))
    .where('id', '<=', throughId)
    .orderBy('audit_events.id')
    .limit(limit)
    .execute();
}

export interface AuditEventFilter {
  userId?: string | undefined;
  clientId?: string | undefined;
  type?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  limit: number;
  offset: number;
}

/** A page of audit events matching every given filter, newest first, and how many match in all. */
export async function listAuditEvents(db: Db, filter: AuditEventFilter) {
  const matches = (eb: ExpressionBuilder<Schema, 'audit_events'>) =>
    eb.and([
      ...(filter.userId ? [eb('user_id', '=', filter.userId)] : []),
      ...(filter.clientId ? [eb('client_id', '=', filter.clientId)] : []),
      ...(filter.type ? [eb('type', '=', filter.type)] : []),
      ...(filter.from ? [eb('at', '>=', filter.from)] : []),
      ...(filter.to ? [eb('at', '<=', filter.to)] : []),
    ]);
  const [rows, total] = await Promise.all([
    db
      .selectFrom('audit_events')
      .selectAll()
      .where(matches)
      .orderBy('at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .offset(filter.offset)
      .execute(),
    db
      .selectFrom('audit_events')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where(matches)
      .executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(total.n) };
}

/** The newest event older than `before` (by id, so the sweep cuts a prefix of the chain). */
export async function lastAuditEventBefore(db: Db, before: Date) {
  return db
    .selectFrom('audit_events')
    .select([sql<string>`id::text`.as('id'), 'hash'])
    .where('id', '=', (eb) =>
      eb
        .selectFrom('audit_events')
        .select((e) => e.fn.max('id').as('id'))
        .where('at', '<', before),
    )
    .executeTakeFirst();
}

/** Deletes the chain up to and including `throughId`, and records where it now starts. */
export async function deleteAuditEventsThrough(db: Db, throughId: string, throughHash: string): Promise<number> {
  const result = await db.deleteFrom('audit_events').where('id', '<=', throughId).executeTakeFirst();
  await db.updateTable('audit_chain').set({ swept_through_id: throughId, swept_hash: throughHash }).execute();
  return Number(result.numDeletedRows);
}
