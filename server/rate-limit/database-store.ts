import type { Db } from '../../db/database.ts';
import { deleteRateLimit, findRateLimit, incrementRateLimit } from '../../db/repositories/rate-limits.ts';
import type { CounterStore, RateLimitName, RateLimitPolicy } from './rate-limits.ts';

/**
 * Counters in the `rate_limits` table, for a single node (or several on one Postgres): one row per
 * `<name>:<key>`, counted by one atomic upsert. Expired rows are ignored, then swept.
 */
export function createDatabaseStore(db: Db, policies: Record<RateLimitName, RateLimitPolicy>): CounterStore {
  const rowKey = (name: RateLimitName, key: string) => `${name}:${key}`;
  return {
    async increment(name, key) {
      const row = await incrementRateLimit(db, rowKey(name, key), policies[name].windowSeconds);
      return { used: row.points, msLeft: row.ms_left };
    },
    async read(name, key) {
      const row = await findRateLimit(db, rowKey(name, key));
      return row && { used: row.points, msLeft: row.ms_left };
    },
    remove: (name, key) => deleteRateLimit(db, rowKey(name, key)),
    // The database is the caller's; it closes it.
    close: async () => {},
  };
}
