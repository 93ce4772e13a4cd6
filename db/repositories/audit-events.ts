import type { ExpressionBuilder } from 'kysely';
import type { Db } from '../database.ts';
import type { Schema } from '../schema.ts';

export interface AuditEventInput {
  type: string;
  userId?: string | undefined;
  clientId?: string | undefined;
  actor?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  details?: Record<string, unknown>;
}

export async function insertAuditEvent(db: Db, event: AuditEventInput): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      type: event.type,
      user_id: event.userId ?? null,
      client_id: event.clientId ?? null,
      actor: event.actor ?? null,
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 512) ?? null,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
}

export interface AuditEventFilter {
  userId?: string | undefined;
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

/** Deletes events older than `before`; returns how many went. */
export async function deleteAuditEventsBefore(db: Db, before: Date): Promise<number> {
  const result = await db.deleteFrom('audit_events').where('at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
