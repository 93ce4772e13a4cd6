import type { Db } from '../../db/database.ts';
import {
  type AuditEventInput,
  deleteAuditEventsThrough,
  insertAuditEventsAndAdvance,
  lastAuditEventBefore,
  lockAuditChain,
  lockAuditChainForSlots,
} from '../../db/repositories/audit-events.ts';
import { hashAuditEvent } from './chain-hash.ts';

/**
 * Appends to and trims the audit chain. Every append locks the chain's head row (one row, FOR
 * UPDATE, in the insert's transaction), so writers on any number of nodes take turns and build
 * one chain. To keep that fast, each process appends the events that arrive while it waits for
 * the lock together, in one transaction, which also adds them to the day's count per type (what
 * the console's chart reads, instead of counting the log). The retention sweep cuts only a prefix and records the
 * last removed event's hash, so verification still starts from a known hash.
 */
export type AppendAuditEvent = (event: AuditEventInput) => Promise<void>;

const MOST_PER_APPEND = 500;

/** Appends `events` in this order, in one transaction. */
export async function appendAuditEvents(db: Db, events: AuditEventInput[]): Promise<void> {
  const contents = events.map((event) => ({
    type: event.type,
    user_id: event.userId ?? null,
    client_id: event.clientId ?? null,
    actor: event.actor ?? null,
    ip: event.ip ?? null,
    user_agent: event.userAgent?.slice(0, 512) ?? null,
    // What jsonb will give back: undefined dropped, dates as strings.
    details: JSON.parse(JSON.stringify(event.details ?? {})) as Record<string, unknown>,
  }));
  if (!contents.length) return;
  await db.transaction().execute(async (trx) => {
    const { lastHash, slots } = await lockAuditChainForSlots(trx, contents.length);
    let prev = lastHash;
    const rows = contents.map((content, i) => {
      const slot = slots[i] as { id: string; at: Date };
      const hash = hashAuditEvent(prev, { ...slot, ...content });
      const row = { ...slot, ...content, details: JSON.stringify(content.details), prev_hash: prev, hash };
      prev = hash;
      return row;
    });
    const last = rows[rows.length - 1] as (typeof rows)[number];
    await insertAuditEventsAndAdvance(trx, rows, countByType(contents), last.id, last.hash);
  });
}

/**
 * This process's appender: events wait while an append is in flight, then go in together. A
 * batch that fails is retried one event at a time, so one bad event fails only its own caller.
 */
export function createAuditAppender(db: Db): AppendAuditEvent {
  type Waiting = { event: AuditEventInput; resolve: () => void; reject: (err: unknown) => void };
  const waiting: Waiting[] = [];
  let draining = false;
  const one = (w: Waiting) => appendAuditEvents(db, [w.event]).then(w.resolve, w.reject);

  const drain = async () => {
    draining = true;
    while (waiting.length) {
      const batch = waiting.splice(0, MOST_PER_APPEND);
      await appendAuditEvents(
        db,
        batch.map((w) => w.event),
      ).then(
        () => {
          for (const w of batch) w.resolve();
        },
        async () => {
          for (const w of batch) await one(w);
        },
      );
    }
    draining = false;
  };

  return (event) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ event, resolve, reject });
      if (!draining) void drain();
    });
}

/** One event, in its own transaction. */
export const appendAuditEvent = (db: Db, event: AuditEventInput) => appendAuditEvents(db, [event]);

/** Deletes the events older than `before`, as one prefix of the chain; returns how many went. */
export async function sweepAuditEventsBefore(db: Db, before: Date): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await lockAuditChain(trx);
    const last = await lastAuditEventBefore(trx, before);
    return last ? deleteAuditEventsThrough(trx, last.id, last.hash) : 0;
  });
}

/** The daily count kind of an audit event type. */
export const eventCountKind = (type: string) => `event:${type}`;

function countByType(events: { type: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { type } of events) counts.set(eventCountKind(type), (counts.get(eventCountKind(type)) ?? 0) + 1);
  return counts;
}
