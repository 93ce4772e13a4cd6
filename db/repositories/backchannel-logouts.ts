import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../database.ts';
import { leaseIsFree, retryIn, takeLease } from './leased-queue.ts';

/**
 * Logout tokens waiting to be posted. A row is written in the transaction that ends the session;
 * a worker claims it under a lease (one statement, FOR UPDATE SKIP LOCKED: two nodes never claim
 * the same row, and a row whose node died mid-send is claimed again once the lease ends), then
 * deletes it once posted or given up. Times come from the database's clock.
 */
export interface LogoutTarget {
  client_id: string;
  account_id: string;
  sid: string;
}

export interface QueuedLogout extends LogoutTarget {
  id: string;
  /** Attempts so far, this one included. */
  attempts: number;
  lease_token: string;
}

export async function queueLogouts(db: Db, targets: LogoutTarget[]): Promise<void> {
  if (targets.length === 0) return;
  await db
    .insertInto('backchannel_logouts')
    .values(targets.map((t) => ({ id: randomUUID(), ...t })))
    .execute();
}

/** Claims the logout due first for `leaseSeconds`; undefined when none is due. */
export async function claimDueLogout(
  db: Db,
  leaseToken: string,
  leaseSeconds: number,
): Promise<QueuedLogout | undefined> {
  const due = db
    .selectFrom('backchannel_logouts')
    .select('id')
    .where('next_attempt_at', '<=', sql<Date>`now()`)
    .where(leaseIsFree)
    .orderBy('next_attempt_at')
    .limit(1)
    .forUpdate()
    .skipLocked();
  return db
    .updateTable('backchannel_logouts')
    .set(takeLease(leaseToken, leaseSeconds))
    .where('id', '=', due)
    .where(leaseIsFree)
    .returning(['id', 'client_id', 'account_id', 'sid', 'attempts', 'lease_token'])
    .executeTakeFirst() as Promise<QueuedLogout | undefined>;
}

/** Removes a claimed row: posted, or given up. */
export async function finishLogout(db: Db, claim: { id: string; lease_token: string }): Promise<void> {
  await db
    .deleteFrom('backchannel_logouts')
    .where('id', '=', claim.id)
    .where('lease_token', '=', claim.lease_token)
    .execute();
}

/** Releases a claimed row for another attempt in `delaySeconds`. */
export async function retryLogoutLater(
  db: Db,
  claim: { id: string; lease_token: string },
  delaySeconds: number,
): Promise<void> {
  await db
    .updateTable('backchannel_logouts')
    .set(retryIn(delaySeconds))
    .where('id', '=', claim.id)
    .where('lease_token', '=', claim.lease_token)
    .execute();
}
