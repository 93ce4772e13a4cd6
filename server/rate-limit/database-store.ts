import type { Db } from '../../db/database.ts';
import {
  decrementRateLimit,
  decrementRateLimits,
  deleteRateLimit,
  incrementRateLimit,
  incrementRateLimitsInTurn,
} from '../../db/repositories/rate-limits.ts';
import type { CounterStore, RateLimitName, RateLimitPolicy } from './rate-limits.ts';

/**
 * Counters in the `rate_limits` table, shared by every node on one Postgres: one row per
 * `<name>:<key>`, counted by one atomic upsert. Expired rows are ignored, then swept. Several
 * limits of one attempt are counted in one statement, and given back in one.
 */
export function createDatabaseStore(db: Db, policies: Record<RateLimitName, RateLimitPolicy>): CounterStore {
  const rowKey = (name: RateLimitName, key: string) => `${name}:${key}`;
  return {
    async increment(name, key) {
      const row = await incrementRateLimit(db, rowKey(name, key), policies[name].windowSeconds);
      return {
        used: row.points,
        msLeft: row.ms_left,
        takeBack: (points) => decrementRateLimit(db, rowKey(name, key), points),
      };
    },
    async incrementInTurn(limits) {
      const keys = limits.map(([name, key]) => rowKey(name, key));
      const rows = await incrementRateLimitsInTurn(
        db,
        limits.map(([name], i) => ({ key: keys[i] ?? '', ...policies[name] })),
      );
      return {
        counts: rows.map((row) => ({ used: row.points, msLeft: row.ms_left })),
        takeBack: (points) =>
          decrementRateLimits(
            db,
            points.map((n, i) => ({ key: keys[i] ?? '', points: n })),
          ),
      };
    },
    remove: (name, key) => deleteRateLimit(db, rowKey(name, key)),
    // The database is the caller's; it closes it.
    close: async () => {},
  };
}
