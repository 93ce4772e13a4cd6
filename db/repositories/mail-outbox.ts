import { sql } from 'kysely';
import type { Db } from '../database.ts';
import { leaseIsFree, retryIn, takeLease } from './leased-queue.ts';

/**
 * The mail outbox's rows. Times come from the database's clock, so no node's clock skew moves a
 * lease or a retry. A row is claimed by one statement that locks it (FOR UPDATE SKIP LOCKED) and
 * sets a lease: two nodes polling at once never claim the same row, and a row whose lease has
 * expired (its node died mid-send) is claimed again.
 */
export interface QueuedMail {
  id: string;
  kind: string;
  recipient: string;
  data: Record<string, string>;
  /** Attempts so far, this one included. */
  attempts: number;
  /** Seconds since the row was queued. */
  age_seconds: number;
  lease_token: string;
}

export async function insertMail(
  db: Db,
  mail: { id: string; kind: string; recipient: string; data: Record<string, string> },
): Promise<void> {
  await db
    .insertInto('mail_outbox')
    .values({ ...mail, data: JSON.stringify(mail.data) })
    .execute();
}

/** Claims the pending row due first, leasing it for `leaseSeconds`; undefined when none is due. */
export async function claimDueMail(db: Db, leaseToken: string, leaseSeconds: number): Promise<QueuedMail | undefined> {
  const due = db
    .selectFrom('mail_outbox')
    .select('id')
    .where('state', '=', 'pending')
    .where('next_attempt_at', '<=', sql<Date>`now()`)
    .where(leaseIsFree)
    .orderBy('next_attempt_at')
    .limit(1)
    .forUpdate()
    .skipLocked();
  return (
    db
      .updateTable('mail_outbox')
      .set(takeLease(leaseToken, leaseSeconds))
      // `=`, not `in`: a scalar subquery runs once, where `in (… limit 1)` may be run per row and claim many.
      .where('id', '=', due)
      // Checked again on the locked row, in case another node's claim committed meanwhile.
      .where('state', '=', 'pending')
      .where(leaseIsFree)
      .returning([
        'id',
        'kind',
        'recipient',
        'data',
        'attempts',
        'lease_token',
        sql<number>`extract(epoch from now() - created_at)::float8`.as('age_seconds'),
      ])
      .executeTakeFirst() as Promise<QueuedMail | undefined>
  );
}

/** Ends a claimed row as sent, skipped (nothing to send any more) or failed (given up). */
export async function finishMail(
  db: Db,
  claim: { id: string; lease_token: string },
  state: 'sent' | 'skipped' | 'failed',
  error?: string,
): Promise<void> {
  await db
    .updateTable('mail_outbox')
    .set({
      state,
      finished_at: sql<Date>`now()`,
      lease_until: null,
      lease_token: null,
      ...(error === undefined ? {} : { last_error: error }),
    })
    .where('id', '=', claim.id)
    .where('lease_token', '=', claim.lease_token)
    .execute();
}

/** Releases a claimed row for another attempt in `delaySeconds`. */
export async function retryMailLater(
  db: Db,
  claim: { id: string; lease_token: string },
  delaySeconds: number,
  error: string,
): Promise<void> {
  await db
    .updateTable('mail_outbox')
    .set({
      ...retryIn(delaySeconds),
      last_error: error,
    })
    .where('id', '=', claim.id)
    .where('lease_token', '=', claim.lease_token)
    .execute();
}

/** How many mails wait to be sent, and for how many seconds the oldest has waited (0 when none). */
export async function measurePendingMail(db: Db): Promise<{ pending: number; oldest_seconds: number }> {
  return db
    .selectFrom('mail_outbox')
    .select([
      sql<number>`count(*)::int`.as('pending'),
      sql<number>`coalesce(extract(epoch from now() - min(created_at)), 0)::float8`.as('oldest_seconds'),
    ])
    .where('state', '=', 'pending')
    .executeTakeFirstOrThrow();
}

/** Deletes sent and skipped rows finished before `doneBefore`, failed ones before `failedBefore`. */
export async function deleteFinishedMail(db: Db, doneBefore: Date, failedBefore: Date): Promise<number> {
  const result = await db
    .deleteFrom('mail_outbox')
    .where('finished_at', 'is not', null)
    .where((eb) =>
      eb.or([
        eb.and([eb('state', 'in', ['sent', 'skipped']), eb('finished_at', '<', doneBefore)]),
        eb.and([eb('state', '=', 'failed'), eb('finished_at', '<', failedBefore)]),
      ]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
