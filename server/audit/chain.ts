import type { Db } from '../../db/database.ts';
import {
  type AuditEventInput,
  advanceAuditChain,
  deleteAuditEventsThrough,
  insertAuditEvent,
  lastAuditEventBefore,
  lockAuditChain,
  nextAuditEventSlot,
} from '../../db/repositories/audit-events.ts';
import { hashAuditEvent } from './chain-hash.ts';

/**
 * Appends to and trims the audit chain. Every append locks the chain's head row (one row, FOR
 * UPDATE, in the insert's transaction), so writers on any number of nodes take turns and build
 * one chain; the lock is held for four short statements. The retention sweep cuts only a prefix
 * and records the last removed event's hash, so verification still starts from a known hash.
 */
export async function appendAuditEvent(db: Db, event: AuditEventInput): Promise<void> {
  // What jsonb will give back: undefined dropped, dates as strings.
  const details = JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>;
  const content = {
    type: event.type,
    user_id: event.userId ?? null,
    client_id: event.clientId ?? null,
    actor: event.actor ?? null,
    ip: event.ip ?? null,
    user_agent: event.userAgent?.slice(0, 512) ?? null,
  };
  await db.transaction().execute(async (trx) => {
    const head = await lockAuditChain(trx);
    const slot = await nextAuditEventSlot(trx);
    const hash = hashAuditEvent(head.last_hash, { ...slot, ...content, details });
    await insertAuditEvent(trx, {
      ...slot,
      ...content,
      details: JSON.stringify(details),
      prev_hash: head.last_hash,
      hash,
    });
    await advanceAuditChain(trx, slot.id, hash);
  });
}

/** Deletes the events older than `before`, as one prefix of the chain; returns how many went. */
export async function sweepAuditEventsBefore(db: Db, before: Date): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await lockAuditChain(trx);
    const last = await lastAuditEventBefore(trx, before);
    return last ? deleteAuditEventsThrough(trx, last.id, last.hash) : 0;
  });
}
