import type { Logger } from '../logger.ts';
import type { CounterStore, RateLimitName } from './rate-limits.ts';
import type { RedisStore } from './redis-store.ts';

/**
 * Redis first, the database while Redis is unreachable. The database is shared by every node too,
 * so the limits still hold across nodes during an outage.
 *
 * Rules this file enforces:
 * - the first failing Redis call switches counting to the database (one warning in the log);
 * - while switched, no request waits on Redis: a probe pings it every PROBE_INTERVAL_MS, and its
 *   first answer switches counting back (one line in the log), with no restart;
 * - counts do not move between the stores: across a switch, a key may get its limit once in each
 *   (at most twice the limit in that window); a reset clears the key in both stores;
 * - a log line carries an error's message only: ioredis errors can carry a command's arguments,
 *   which hold our keys.
 */
const PROBE_INTERVAL_MS = 1000;

export function createFallbackStore(redis: RedisStore, database: CounterStore, logger: Logger): CounterStore {
  let probe: NodeJS.Timeout | undefined;

  const cameBack = () => {
    clearInterval(probe);
    probe = undefined;
    logger.info('Redis is reachable again: rate limits count in Redis');
  };
  const wentDown = (err: unknown) => {
    if (probe) return;
    const reason = err instanceof Error ? err.message : String(err);
    logger.warn({ reason }, 'Redis is unreachable: rate limits count in the database until it is back');
    probe = setInterval(() => {
      redis.ping().then(
        () => probe && cameBack(),
        () => {},
      );
    }, PROBE_INTERVAL_MS);
    probe.unref();
  };

  return {
    async increment(name: RateLimitName, key: string) {
      if (!probe) {
        try {
          const count = await redis.increment(name, key);
          // Giving points back follows a success: if Redis is gone by then, the sign-in still stands.
          return { ...count, takeBack: (points: number) => count.takeBack(points).catch(wentDown) };
        } catch (err) {
          wentDown(err);
        }
      }
      return database.increment(name, key);
    },
    async remove(name, key) {
      // Whichever store counted it; Redis only as far as it answers while it is away.
      const [fromRedis, fromDatabase] = await Promise.allSettled([redis.remove(name, key), database.remove(name, key)]);
      if (fromDatabase.status === 'rejected') throw fromDatabase.reason;
      if (fromRedis.status === 'rejected' && !probe) throw fromRedis.reason;
    },
    async close() {
      clearInterval(probe);
      await Promise.all([redis.close(), database.close()]);
    },
  };
}
