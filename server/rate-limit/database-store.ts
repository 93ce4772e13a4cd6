import type { Db } from '../../db/database.ts';
import { decrementRateLimit, deleteRateLimit, incrementRateLimit } from '../../db/repositories/rate-limits.ts';
import type { CounterStore, RateLimitName, RateLimitPolicy } from './rate-limits.ts';

/**
 * Counters in the `rate_limits` table, shared by every node on one Postgres: one row per
 * `<name>:<key>`, counted by one atomic upsert. Expired rows are ignored, then swept.
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
    remove: (name, key) => deleteRateLimit(db, rowKey(name, key)),
    // The database is the caller's; it closes it.
    close: async () => {},
  };
}
