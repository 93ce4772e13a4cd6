import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Count, CounterStore, RateLimitName, RateLimitPolicy } from './rate-limits.ts';

/**
 * Counters in Redis (REDIS_URL), shared by every node: rate-limiter-flexible's RateLimiterRedis, one
 * per policy, keys `tessera:<name>:<key>` that Redis expires with their window.
 *
 * The offline queue is off, as rate-limiter-flexible advises: while Redis is away a check fails at
 * once instead of queueing requests behind it. So each call first waits for the connection
 * (the first one right after start, or after a reconnect), and fails at the first connection error.
 */
export function createRedisStore(url: string, policies: Record<RateLimitName, RateLimitPolicy>): CounterStore {
  const client = new Redis(url, { enableOfflineQueue: false });
  // Connection errors reach the caller through the command that fails; nothing else to do here.
  client.on('error', () => {});
  const connected = readiness(client);
  const limiters = new Map(
    Object.entries(policies).map(([name, policy]) => [
      name,
      new RateLimiterRedis({
        storeClient: client,
        keyPrefix: `tessera:${name}`,
        points: policy.points,
        duration: policy.windowSeconds,
      }),
    ]),
  );
  const limiter = (name: RateLimitName) => limiters.get(name) as RateLimiterRedis;

  return {
    async increment(name, key) {
      await connected();
      try {
        return count(await limiter(name).consume(key));
      } catch (err) {
        // Over the limit, rate-limiter-flexible rejects with the counter itself; anything else is a failure.
        if (err instanceof RateLimiterRes) return count(err);
        throw err;
      }
    },
    async read(name, key) {
      await connected();
      const res = await limiter(name).get(key);
      return res ? count(res) : undefined;
    },
    async remove(name, key) {
      await connected();
      await limiter(name).delete(key);
    },
    async close() {
      if (client.status === 'ready') await client.quit();
      else client.disconnect();
    },
  };
}

function count(res: RateLimiterRes): Count {
  return { used: res.consumedPoints, msLeft: res.msBeforeNext };
}

// A function that resolves once `client` is ready, and rejects at its next connection error or if it
// has ended. Calls made while it connects share one wait (one set of listeners, however many).
function readiness(client: Redis): () => Promise<void> {
  let waiting: Promise<void> | undefined;
  return () => {
    if (client.status === 'ready') return Promise.resolve();
    if (client.status === 'end') return Promise.reject(new Error('Redis connection is closed'));
    waiting ??= new Promise<void>((resolve, reject) => {
      const settle = (err?: Error) => {
        client.off('ready', onReady).off('error', onError).off('end', onEnd);
        waiting = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => settle();
      const onError = (err: Error) => settle(err);
      const onEnd = () => settle(new Error('Redis connection is closed'));
      client.once('ready', onReady).once('error', onError).once('end', onEnd);
    });
    return waiting;
  };
}
