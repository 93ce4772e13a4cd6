/**
 * Brute-force limits (server/rate-limit), the same contract on both stores: the database (PGlite,
 * or Postgres when DATABASE_URL is set) and Redis (REDIS_URL, else the local 127.0.0.1:6379).
 *
 * Fixed windows per (limit, key): the 1st..Nth consume of a window are allowed, the next are not
 * and say how long to wait; peek looks without counting; reset forgets; every limiter on one store
 * shares its counts, as several nodes do. Each test uses keys of its own (Redis is shared by
 * parallel runs) and resets them afterwards.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrator.ts';
import {
  createRateLimiter,
  RATE_LIMITS,
  type RateLimiter,
  type RateLimitName,
  type RateLimitPolicy,
  sweepExpiredRateLimits,
} from '../../server/rate-limit/rate-limits.ts';
import { openTestDb } from '../support/database.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const NAMES = Object.keys(RATE_LIMITS) as RateLimitName[];

type Policies = Partial<Record<RateLimitName, RateLimitPolicy>>;

interface Store {
  /** A limiter of its own on the shared store, as another node would make. */
  limiter(policies?: Policies): RateLimiter;
  /** Ends the current window of (name, key) as if its time had passed. */
  endWindow(name: RateLimitName, key: string): Promise<void>;
  close(): Promise<void>;
}

async function databaseStore(): Promise<Store> {
  const { db, close } = await openTestDb();
  await migrateToLatest(db);
  const limiters: RateLimiter[] = [];
  return {
    limiter(policies) {
      const limiter = createRateLimiter({ db, redisUrl: undefined, policies });
      limiters.push(limiter);
      return limiter;
    },
    async endWindow(name, key) {
      const result = await db
        .updateTable('rate_limits')
        .set({ expires_at: sql<Date>`now() - interval '1 second'` })
        .where('key', '=', `${name}:${key}`)
        .executeTakeFirst();
      expect(result.numUpdatedRows).toBe(1n);
    },
    async close() {
      await Promise.all(limiters.map((l) => l.close()));
      await close();
    },
  };
}

async function redisStore(): Promise<Store> {
  const redis = new Redis(REDIS_URL);
  const limiters: RateLimiter[] = [];
  return {
    limiter(policies) {
      const limiter = createRateLimiter({ db: undefined as unknown as Db, redisUrl: REDIS_URL, policies });
      limiters.push(limiter);
      return limiter;
    },
    async endWindow(name, key) {
      const redisKey = `tessera:${name}:${key}`;
      expect(await redis.pexpire(redisKey, 1)).toBe(1);
      while (await redis.exists(redisKey)) await sleep(2);
    },
    async close() {
      await Promise.all(limiters.map((l) => l.close()));
      await redis.quit();
    },
  };
}

describe.each([
  { kind: 'database', open: databaseStore },
  { kind: 'redis', open: redisStore },
])('rate limits on the $kind store', ({ open }) => {
  let store: Store;
  let limiter: RateLimiter;
  let used: string[] = [];

  const newKey = () => {
    const key = `${randomUUID()}@example.com|203.0.113.9`;
    used.push(key);
    return key;
  };
  const consumeTimes = async (l: RateLimiter, name: RateLimitName, key: string, times: number) => {
    const results = [];
    for (let i = 0; i < times; i++) results.push(await l.consume(name, key));
    return results;
  };

  beforeAll(async () => {
    store = await open();
    limiter = store.limiter();
  });

  afterEach(async () => {
    await Promise.all(used.flatMap((key) => NAMES.map((name) => limiter.reset(name, key))));
    used = [];
  });

  afterAll(async () => {
    await store.close();
  });

  it('allows 5 failed logins per account and IP, then refuses the 6th until the window ends', async () => {
    const key = newKey();
    const allowed = await consumeTimes(limiter, 'login_account_ip', key, 5);
    expect(allowed.map((r) => r.allowed)).toEqual([true, true, true, true, true]);
    expect(allowed.map((r) => r.retryAfterSeconds)).toEqual([0, 0, 0, 0, 0]);

    for (const refused of await consumeTimes(limiter, 'login_account_ip', key, 2)) {
      expect(refused).toMatchObject({ allowed: false, remaining: 0 });
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(900);
      expect(Number.isInteger(refused.retryAfterSeconds)).toBe(true);
    }
  });

  it('counts the remaining attempts down', async () => {
    const key = newKey();
    const results = await consumeTimes(limiter, 'reset_email', key, 4);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
  });

  it('peeks without counting, and refuses on peek once every point is used', async () => {
    const key = newKey();
    expect(await limiter.peek('login_account_ip', key)).toEqual({ allowed: true, remaining: 5, retryAfterSeconds: 0 });
    await limiter.consume('login_account_ip', key);
    for (let i = 0; i < 3; i++) {
      expect(await limiter.peek('login_account_ip', key)).toEqual({
        allowed: true,
        remaining: 4,
        retryAfterSeconds: 0,
      });
    }
    expect((await limiter.consume('login_account_ip', key)).remaining).toBe(3);

    await consumeTimes(limiter, 'login_account_ip', key, 3);
    const exhausted = await limiter.peek('login_account_ip', key);
    expect(exhausted).toMatchObject({ allowed: false, remaining: 0 });
    expect(exhausted.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(exhausted.retryAfterSeconds).toBeLessThanOrEqual(900);
    expect((await limiter.consume('login_account_ip', key)).allowed).toBe(false);
  });

  it('forgets a count on reset (a successful login)', async () => {
    const key = newKey();
    await consumeTimes(limiter, 'login_account_ip', key, 6);
    await limiter.reset('login_account_ip', key);
    expect(await limiter.peek('login_account_ip', key)).toEqual({ allowed: true, remaining: 5, retryAfterSeconds: 0 });
    expect(await limiter.consume('login_account_ip', key)).toEqual({
      allowed: true,
      remaining: 4,
      retryAfterSeconds: 0,
    });
    await limiter.reset('login_account_ip', newKey()); // nothing to forget is fine
  });

  it('keeps different keys and different limits apart', async () => {
    const key = newKey();
    const other = newKey();
    await consumeTimes(limiter, 'login_account_ip', key, 6);
    expect((await limiter.consume('login_account_ip', other)).remaining).toBe(4);
    expect((await limiter.consume('totp_account', key)).remaining).toBe(4);
    expect((await limiter.consume('login_ip', key)).remaining).toBe(49);
    expect((await limiter.peek('reset_ip', key)).remaining).toBe(10);
  });

  it('starts a new count once the window has ended', async () => {
    const key = newKey();
    await consumeTimes(limiter, 'login_account_ip', key, 6);
    await store.endWindow('login_account_ip', key);
    expect(await limiter.peek('login_account_ip', key)).toEqual({ allowed: true, remaining: 5, retryAfterSeconds: 0 });
    expect(await limiter.consume('login_account_ip', key)).toEqual({
      allowed: true,
      remaining: 4,
      retryAfterSeconds: 0,
    });
    const [, , , , refused] = await consumeTimes(limiter, 'login_account_ip', key, 5);
    expect(refused?.allowed).toBe(false);
    expect(refused?.retryAfterSeconds).toBeGreaterThan(890);
  });

  it('ends a short window of its own accord', async () => {
    const short = store.limiter({ signup_ip: { points: 1, windowSeconds: 1 } });
    const key = newKey();
    expect((await short.consume('signup_ip', key)).allowed).toBe(true);
    const refused = await short.consume('signup_ip', key);
    expect(refused).toEqual({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    await sleep(1100);
    expect(await short.consume('signup_ip', key)).toEqual({ allowed: true, remaining: 0, retryAfterSeconds: 0 });
  });

  it('shares one count between limiters on the same store, as nodes do', async () => {
    const other = store.limiter();
    const key = newKey();
    await consumeTimes(limiter, 'login_account_ip', key, 3);
    const fromB = await consumeTimes(other, 'login_account_ip', key, 3);
    expect(fromB.map((r) => r.allowed)).toEqual([true, true, false]);
    expect((await limiter.peek('login_account_ip', key)).allowed).toBe(false);
    await other.reset('login_account_ip', key);
    expect((await limiter.peek('login_account_ip', key)).remaining).toBe(5);
  });

  it('counts 20 parallel attempts on one key exactly', async () => {
    const other = store.limiter();
    const key = newKey();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? limiter : other).consume('login_ip', key)),
    );
    expect(results.map((r) => r.remaining).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 30 + i));
    expect((await limiter.peek('login_ip', key)).remaining).toBe(30);
  });

  it('works on its first call, straight after creation', async () => {
    const key = newKey();
    expect(await store.limiter().consume('reset_ip', key)).toEqual({
      allowed: true,
      remaining: 9,
      retryAfterSeconds: 0,
    });
    expect((await store.limiter().peek('reset_ip', key)).remaining).toBe(9);
  });

  it('takes keys of any length and content, telling long ones apart', async () => {
    const long = `${newKey()}${'x'.repeat(10_000)}`;
    const longToo = `${long.slice(0, -1)}y`;
    used.push(long, longToo);
    await consumeTimes(limiter, 'login_account_ip', long, 5);
    expect((await limiter.consume('login_account_ip', long)).allowed).toBe(false);
    expect((await limiter.consume('login_account_ip', longToo)).remaining).toBe(4);
    await limiter.reset('login_account_ip', long);
    expect((await limiter.peek('login_account_ip', long)).remaining).toBe(5);

    const odd = `${newKey()}\0'"; drop table rate_limits; -- ☃ 😀`;
    used.push(odd);
    expect((await limiter.consume('signup_ip', odd)).remaining).toBe(9);
    expect((await limiter.peek('signup_ip', odd)).remaining).toBe(9);
  });
});

describe('the database store', () => {
  let db: Db;
  let close: () => Promise<void>;
  let limiter: RateLimiter;

  beforeAll(async () => {
    ({ db, close } = await openTestDb());
    await migrateToLatest(db);
    limiter = createRateLimiter({ db, redisUrl: undefined });
  });

  afterAll(async () => {
    await limiter.close();
    await close();
  });

  it('keeps one row per limit and key, named by the limit, with keys no longer than 512 characters', async () => {
    await db.deleteFrom('rate_limits').execute();
    await limiter.consume('login_account_ip', 'ada@example.com|203.0.113.9');
    await limiter.consume('login_account_ip', 'ada@example.com|203.0.113.9');
    await limiter.consume('login_ip', '203.0.113.9');
    await limiter.consume('reset_email', 'x'.repeat(10_000));
    const rows = await db.selectFrom('rate_limits').select(['key', 'points']).orderBy('key').execute();
    expect(rows).toEqual([
      { key: 'login_account_ip:ada@example.com|203.0.113.9', points: 2 },
      { key: 'login_ip:203.0.113.9', points: 1 },
      { key: expect.stringMatching(/^reset_email:sha256:[0-9a-f]{64}$/), points: 1 },
    ]);
  });

  it('sweeps only expired counters, and says how many', async () => {
    await db.deleteFrom('rate_limits').execute();
    for (const key of ['a', 'b', 'c', 'd']) await limiter.consume('signup_ip', key);
    await db
      .updateTable('rate_limits')
      .set({ expires_at: sql<Date>`now() - interval '1 second'` })
      .where('key', 'in', ['signup_ip:a', 'signup_ip:b'])
      .execute();
    expect(await sweepExpiredRateLimits(db)).toBe(2);
    const left = await db.selectFrom('rate_limits').select('key').orderBy('key').execute();
    expect(left.map((r) => r.key)).toEqual(['signup_ip:c', 'signup_ip:d']);
    expect(await sweepExpiredRateLimits(db)).toBe(0);
  });

  it('reports a failure without the key', async () => {
    const bare = await openTestDb(); // not migrated: no rate_limits table
    try {
      const failing = createRateLimiter({ db: bare.db, redisUrl: undefined });
      const key = 'ada@example.com|203.0.113.9';
      const error = await failing.consume('login_account_ip', key).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(Error);
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('ada@example.com');
    } finally {
      await bare.close();
    }
  });
});

describe('the Redis store', () => {
  it('fails a call, without the key, when Redis cannot be reached', async () => {
    const limiter = createRateLimiter({ db: undefined as unknown as Db, redisUrl: 'redis://127.0.0.1:1' });
    try {
      const error = await limiter.consume('login_account_ip', 'ada@example.com|203.0.113.9').then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(Error);
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('ada@example.com');
      await expect(limiter.peek('login_account_ip', 'x')).rejects.toThrow('rate limit store failed');
    } finally {
      await limiter.close();
    }
  });
});
