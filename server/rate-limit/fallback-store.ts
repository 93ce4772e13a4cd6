import type { Logger } from '../logger.ts';
import type { CounterStore, RateLimitName } from './rate-limits.ts';
import type { RedisStore } from './redis-store.ts';

/**
 * Redis first, the database while Redis is unreachable. The database is shared by every node too,
 * so the limits still hold across nodes during an outage; counting goes back to Redis as soon as
 * it answers again, with no restart. One warning when the outage starts, one line when it ends.
 *
 * Counts do not move between the stores: across a switch, a key may get its limit once in each
 * (at most twice the limit in that window). A reset clears the key in both stores.
 */
export function createFallbackStore(redis: RedisStore, database: CounterStore, logger: Logger): CounterStore {
  let down = false;
  const wentDown = (err: unknown) => {
    if (down) return;
    down = true;
    // The message only: ioredis errors can carry the command's arguments, which hold our keys.
    const reason = err instanceof Error ? err.message : String(err);
    logger.warn({ reason }, 'Redis is unreachable: rate limits count in the database until it is back');
  };
  const cameBack = () => {
    if (!down) return;
    down = false;
    logger.info('Redis is reachable again: rate limits count in Redis');
  };

  // Runs `operation` on Redis when it is connected, else (or when it fails) on the database.
  async function either<T>(operation: (store: CounterStore) => Promise<T>): Promise<T> {
    if (redis.ready || !down) {
      try {
        const value = await operation(redis);
        cameBack();
        return value;
      } catch (err) {
        wentDown(err);
      }
    }
    return operation(database);
  }

  return {
    increment: (name: RateLimitName, key: string) =>
      either(async (store) => {
        const count = await store.increment(name, key);
        if (store !== redis) return count;
        // Giving points back follows a success: if Redis is gone by then, the sign-in still stands.
        const takeBack = (points: number) => count.takeBack(points).catch(wentDown);
        return { ...count, takeBack };
      }),
    async remove(name, key) {
      // Whichever store counted it; the one not in use only as far as it answers.
      const [fromRedis, fromDatabase] = await Promise.allSettled([redis.remove(name, key), database.remove(name, key)]);
      if (fromDatabase.status === 'rejected' && fromRedis.status === 'rejected') throw fromDatabase.reason;
      if (fromRedis.status === 'rejected' && redis.ready) throw fromRedis.reason;
    },
    async close() {
      await Promise.all([redis.close(), database.close()]);
    },
  };
}
