import { sql } from 'kysely';

/**
 * The parts the leased queues (mail_outbox, backchannel_logouts) share: a row is free to claim
 * when it has no lease or its lease has run out (its node died mid-attempt); a claim leases it and
 * counts the attempt; a retry frees it for later. Times come from the database's clock, so no
 * node's clock skew moves a lease or a retry.
 */

/** Where-condition: the row holds no live lease. */
export const leaseIsFree = sql<boolean>`(lease_until is null or lease_until <= now())`;

/** Columns to set when claiming a row as `leaseToken` for `leaseSeconds`. */
export const takeLease = (leaseToken: string, leaseSeconds: number) => ({
  lease_token: leaseToken,
  lease_until: sql<Date>`now() + make_interval(secs => ${leaseSeconds})`,
  attempts: sql<number>`attempts + 1`,
});

/** Columns to set when releasing a claimed row for another attempt in `delaySeconds`. */
export const retryIn = (delaySeconds: number) => ({
  next_attempt_at: sql<Date>`now() + make_interval(secs => ${delaySeconds})`,
  lease_until: null,
  lease_token: null,
});
