import { sql } from 'kysely';
import type { Db } from '../database.ts';

/** A counter as the database sees it: points used in its window, milliseconds until the window ends (its clock). */
export interface RateLimitCount {
  points: number;
  ms_left: number;
}

// Measured by the database's clock, which set expires_at, so no node's clock skew shifts a window.
const msLeft = sql<number>`(extract(epoch from expires_at - now()) * 1000)::float8`.as('ms_left');

/**
 * Counts one point against `key` in one atomic statement: a missing or expired counter restarts at 1
 * with a new window of `windowSeconds`, a live one adds 1 and keeps its window. Concurrent calls on
 * one key (from any node) serialise on the primary key, so each is counted exactly once.
 */
export async function incrementRateLimit(db: Db, key: string, windowSeconds: number): Promise<RateLimitCount> {
  return db
    .insertInto('rate_limits')
    .values({ key, points: 1, expires_at: sql<Date>`now() + make_interval(secs => ${windowSeconds})` })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        points: sql<number>`case when rate_limits.expires_at <= now() then 1 else rate_limits.points + 1 end`,
        expires_at: sql<Date>`case when rate_limits.expires_at <= now() then excluded.expires_at else rate_limits.expires_at end`,
      }),
    )
    .returning(['points', msLeft])
    .executeTakeFirstOrThrow();
}

/**
 * Takes up to `points` back from the live counter of `key`, never below zero, in one atomic
 * statement; an ended window is left alone (its count no longer matters).
 */
export async function decrementRateLimit(db: Db, key: string, points: number): Promise<void> {
  await db
    .updateTable('rate_limits')
    .set({ points: sql<number>`greatest(points - ${points}, 0)` })
    .where('key', '=', key)
    .where('expires_at', '>', sql<Date>`now()`)
    .execute();
}

export async function deleteRateLimit(db: Db, key: string): Promise<void> {
  await db.deleteFrom('rate_limits').where('key', '=', key).execute();
}

export async function deleteExpiredRateLimits(db: Db): Promise<number> {
  const result = await db.deleteFrom('rate_limits').where('expires_at', '<=', sql<Date>`now()`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
