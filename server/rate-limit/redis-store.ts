import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { CounterStore, RateLimitName, RateLimitPolicy } from './rate-limits.ts';

/**
 * Counters in Redis (REDIS_URL), shared by every node: rate-limiter-flexible's RateLimiterRedis, one
 * per policy, keys `tessera:<name>:<key>` that Redis expires with their window.
 *
 * A call never waits for a connection: while it is down a command fails at once (the offline
 * queue is off); one in flight when it drops fails after COMMAND_TIMEOUT_MS, and is not resent
 * later, so nothing counts twice. Only the first call after start waits, briefly, for the first
 * connection. The caller (fallback-store.ts) counts elsewhere meanwhile; ioredis keeps reconnecting.
 */
export interface RedisStore extends CounterStore {
  /** Resolves when Redis answers a PING, rejects when it does not. */
  ping(): Promise<void>;
}

// Long enough that a busy event loop is not taken for a lost Redis, short enough for a sign-in to wait.
const COMMAND_TIMEOUT_MS = 3000;
const FIRST_CONNECTION_WAIT_MS = 2000;

// Takes points back from a live counter only: on a missing key, DECRBY would make one with no expiry.
const DECREMENT_LIVE = `local left = redis.call('get', KEYS[1])
if not left then return 0 end
local points = tonumber(left) - tonumber(ARGV[1])
if points < 0 then points = 0 end
redis.call('set', KEYS[1], points, 'KEEPTTL')
return points`;

// Loaded only with REDIS_URL set: a node without Redis carries neither the client nor the limiter.
const load = createRequire(import.meta.url);

export function createRedisStore(url: string, policies: Record<RateLimitName, RateLimitPolicy>): RedisStore {
  const { Redis: RedisClient } = load('ioredis') as typeof import('ioredis');
  const { RateLimiterRedis, RateLimiterRes } = load('rate-limiter-flexible') as typeof import('rate-limiter-flexible');
  const client = new RedisClient(url, {
    enableOfflineQueue: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    autoResendUnfulfilledCommands: false,
  });
  // Every failure reaches a caller through the command that fails; this only keeps ioredis from
  // reporting an unhandled 'error' event.
  client.on('error', () => {});
  const firstConnection = waitForFirstConnection(client);
  const prefix = (name: RateLimitName) => `tessera:${name}`;
  const limiters = new Map(
    Object.entries(policies).map(([name, policy]) => [
      name,
      new RateLimiterRedis({
        storeClient: client,
        keyPrefix: prefix(name as RateLimitName),
        points: policy.points,
        duration: policy.windowSeconds,
        rejectIfRedisNotReady: true,
      }),
    ]),
  );
  const limiter = (name: RateLimitName) => limiters.get(name) as RateLimiterRedis;

  return {
    async ping() {
      await client.ping();
    },
    async increment(name, key) {
      await firstConnection;
      let res: RateLimiterRes;
      try {
        res = await limiter(name).consume(key);
      } catch (err) {
        // Over the limit, rate-limiter-flexible rejects with the counter itself; anything else is a failure.
        if (!(err instanceof RateLimiterRes)) throw err;
        res = err;
      }
      const redisKey = limiter(name).getKey(key);
      return {
        used: res.consumedPoints,
        msLeft: res.msBeforeNext,
        takeBack: async (points) => {
          await client.eval(DECREMENT_LIVE, 1, redisKey, points);
        },
      };
    },
    async remove(name, key) {
      await firstConnection;
      await limiter(name).delete(key);
    },
    async close() {
      if (client.status === 'ready') await client.quit();
      else client.disconnect();
    },
  };
}

// Resolves once `client` is first ready, or at its first error, or after FIRST_CONNECTION_WAIT_MS:
// whichever comes first. It never rejects; a call made before Redis is ready simply fails.
function waitForFirstConnection(client: Redis): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done).off('error', done).off('end', done);
      resolve();
    };
    const timer = setTimeout(done, FIRST_CONNECTION_WAIT_MS);
    timer.unref();
    client.once('ready', done).once('error', done).once('end', done);
  });
}
