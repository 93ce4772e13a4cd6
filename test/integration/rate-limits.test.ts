/**
 * Brute-force limits (server/rate-limit), the same contract on both stores: the database (PGlite,
 * or Postgres when DATABASE_URL is set) and Redis (REDIS_URL, else the local 127.0.0.1:6379).
 *
 * Fixed windows per (limit, key): each attempt is counted first, then the 1st..Nth of a window are
 * allowed and the next are not, saying how long to wait, however many arrive at once; a success
 * gives points back; reset forgets; every limiter on one store shares its counts, as several nodes
 * do. Each test uses keys of its own (Redis is shared by parallel runs) and resets them afterwards.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { pino } from 'pino';
import type { Db } from '../../db/database.ts';
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
const quiet = pino({ level: 'silent' });

type Policies = Partial<Record<RateLimitName, RateLimitPolicy>>;

interface Store {
  /** A limiter of its own on the shared store, as another node would make. */
  limiter(policies?: Policies): RateLimiter;
  /** Ends the current window of (name, key) as if its time had passed. */
  endWindow(name: RateLimitName, key: string): Promise<void>;
  /** The points the store holds for (name, key), read directly. */
  points(name: RateLimitName, key: string): Promise<number | undefined>;
  close(): Promise<void>;
}

async function databaseStore(): Promise<Store> {
  const { db, close } = await openTestDb({ migrated: true });
  const limiters: RateLimiter[] = [];
  return {
    limiter(policies) {
      const limiter = createRateLimiter({ db, redisUrl: undefined, logger: quiet, policies });
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
    async points(name, key) {
      const row = await db
        .selectFrom('rate_limits')
        .select('points')
        .where('key', '=', `${name}:${key}`)
        .executeTakeFirst();
      return row?.points;
    },
    async close() {
      await Promise.all(limiters.map((l) => l.close()));
      await close();
    },
  };
}

async function redisStore(): Promise<Store> {
  const redis = new Redis(REDIS_URL);
  // The fallback store while Redis is away; these tests keep Redis up, so it must stay empty.
  const fallback = await openTestDb({ migrated: true });
  const limiters: RateLimiter[] = [];
  return {
    limiter(policies) {
      const limiter = createRateLimiter({ db: fallback.db, redisUrl: REDIS_URL, logger: quiet, policies });
      limiters.push(limiter);
      return limiter;
    },
    async endWindow(name, key) {
      const redisKey = `tessera:${name}:${key}`;
      expect(await redis.pexpire(redisKey, 1)).toBe(1);
      while (await redis.exists(redisKey)) await sleep(2);
    },
    async points(name, key) {
      const value = await redis.get(`tessera:${name}:${key}`);
      return value === null ? undefined : Number(value);
    },
    async close() {
      await Promise.all(limiters.map((l) => l.close()));
      await redis.quit();
      expect(await fallback.db.selectFrom('rate_limits').select('key').execute()).toEqual([]);
      await fallback.close();
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
  const attemptTimes = async (l: RateLimiter, name: RateLimitName, key: string, times: number) => {
    const results = [];
    for (let i = 0; i < times; i++) results.push(await l.attempt(name, key));
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

  it('allows 5 attempts per account and IP, then refuses the 6th until the window ends', async () => {
    const key = newKey();
    const allowed = await attemptTimes(limiter, 'login_account_ip', key, 5);
    expect(allowed.map((r) => r.allowed)).toEqual([true, true, true, true, true]);
    expect(allowed.map((r) => r.retryAfterSeconds)).toEqual([0, 0, 0, 0, 0]);

    for (const refused of await attemptTimes(limiter, 'login_account_ip', key, 2)) {
      expect(refused).toMatchObject({ allowed: false, remaining: 0 });
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(900);
      expect(Number.isInteger(refused.retryAfterSeconds)).toBe(true);
    }
  });

  it('counts the remaining attempts down', async () => {
    const key = newKey();
    const results = await attemptTimes(limiter, 'reset_email', key, 4);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
  });

  it('allows exactly the limit of 150 attempts made at once from two nodes', async () => {
    const other = store.limiter();
    const key = newKey();
    const results = await Promise.all(
      Array.from({ length: 150 }, (_, i) => (i % 2 ? limiter : other).attempt('totp_account', key)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    for (const refused of results.filter((r) => !r.allowed)) {
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    expect(await store.points('totp_account', key)).toBe(150);
  });

  it('allows exactly the limit of 120 several-limit attempts made at once, counting no further limit once one refuses', async () => {
    const address = newKey();
    const account = newKey();
    const results = await Promise.all(
      Array.from({ length: 120 }, () =>
        limiter.attemptAll([
          ['login_ip', address],
          ['login_account_ip', account],
        ]),
      ),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    expect(new Set(results.filter((r) => !r.allowed).map((r) => !r.allowed && r.limit))).toEqual(
      new Set(['login_account_ip', 'login_ip']),
    );
    // The first 50 passed the address's limit and reached the account's; the other 70 stopped there.
    expect(await store.points('login_ip', address)).toBe(120);
    expect(await store.points('login_account_ip', account)).toBe(50);
  });

  it('forgets, on a per-account success, the attempts counted up to it but not those counted after', async () => {
    const key = newKey();
    await attemptTimes(limiter, 'login_account', key, 3);
    const good = await limiter.attempt('login_account', key);
    await attemptTimes(limiter, 'login_account', key, 2); // still being checked when the success lands
    await good.succeeded();
    expect(await store.points('login_account', key)).toBe(2);
    expect((await limiter.attempt('login_account', key)).remaining).toBe(27);
  });

  it('gives back only its own point on a per-address success', async () => {
    const key = newKey();
    await attemptTimes(limiter, 'login_ip', key, 3);
    const good = await limiter.attempt('login_ip', key);
    await good.succeeded();
    expect(await store.points('login_ip', key)).toBe(3);
  });

  it('takes nothing back from a counter that has been reset, and never goes below zero', async () => {
    const key = newKey();
    const good = await limiter.attempt('totp_account', key);
    await limiter.reset('totp_account', key);
    await good.succeeded();
    expect(await store.points('totp_account', key)).toBeUndefined();
    const next = await limiter.attempt('totp_account', key);
    await next.succeeded();
    await next.succeeded();
    expect(await store.points('totp_account', key)).toBe(0);
    expect((await limiter.attempt('totp_account', key)).remaining).toBe(4);
  });

  it('gives back the points of a several-limit success, each as its kind says', async () => {
    const address = newKey();
    const account = newKey();
    await limiter.attempt('login_ip', address);
    await limiter.attempt('login_account', account);
    const spent = await limiter.attemptAll([
      ['login_ip', address],
      ['login_account', account],
    ]);
    expect(spent.allowed).toBe(true);
    if (spent.allowed) await spent.succeeded();
    expect(await store.points('login_ip', address)).toBe(1);
    expect(await store.points('login_account', account)).toBe(0);
  });

  it('counts and gives back several-limit attempts on shared counters at once, each exactly once', async () => {
    // Every attempt shares the address and takes turns on two accounts: a success gives points
    // back on rows other attempts are counting on at that moment.
    const address = newKey();
    const accounts = [newKey(), newKey()];
    const results = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const spent = await limiter.attemptAll([
          ['login_ip', address],
          ['login_account', accounts[i % 2] ?? ''],
        ]);
        if (spent.allowed) await spent.succeeded();
        return spent.allowed;
      }),
    );
    expect(results.every(Boolean)).toBe(true);
    expect(await store.points('login_ip', address)).toBe(0);
    for (const account of accounts) expect(await store.points('login_account', account)).toBe(0);
  });

  it('lets exactly the allowed several-limit attempts through when 120 guess at once', async () => {
    // One address guessing one account: the address's 50 count the account's, which allows 30.
    const address = newKey();
    const account = newKey();
    const results = await Promise.all(
      Array.from({ length: 120 }, () =>
        limiter.attemptAll([
          ['login_ip', address],
          ['login_account', account],
        ]),
      ),
    );
    const refusedBy = (name: RateLimitName) => results.filter((r) => !r.allowed && r.limit === name).length;
    expect({
      allowed: results.filter((r) => r.allowed).length,
      byAccount: refusedBy('login_account'),
      byAddress: refusedBy('login_ip'),
    }).toEqual({ allowed: 30, byAccount: 20, byAddress: 70 });
    expect(await store.points('login_ip', address)).toBe(120);
    expect(await store.points('login_account', account)).toBe(50);
  });

  it('forgets a count on reset (a password reset)', async () => {
    const key = newKey();
    await attemptTimes(limiter, 'login_account', key, 31);
    await limiter.reset('login_account', key);
    expect(await limiter.attempt('login_account', key)).toMatchObject({
      allowed: true,
      remaining: 29,
      retryAfterSeconds: 0,
    });
    await limiter.reset('login_account', newKey()); // nothing to forget is fine
  });

  it('keeps different keys and different limits apart', async () => {
    const key = newKey();
    const other = newKey();
    await attemptTimes(limiter, 'login_account_ip', key, 6);
    expect((await limiter.attempt('login_account_ip', other)).remaining).toBe(4);
    expect((await limiter.attempt('totp_account', key)).remaining).toBe(4);
    expect((await limiter.attempt('login_ip', key)).remaining).toBe(49);
    expect((await limiter.attempt('login_device', key)).remaining).toBe(4);
  });

  it('starts a new count once the window has ended', async () => {
    const key = newKey();
    await attemptTimes(limiter, 'login_account_ip', key, 6);
    await store.endWindow('login_account_ip', key);
    expect(await limiter.attempt('login_account_ip', key)).toMatchObject({
      allowed: true,
      remaining: 4,
      retryAfterSeconds: 0,
    });
    const [, , , , refused] = await attemptTimes(limiter, 'login_account_ip', key, 5);
    expect(refused?.allowed).toBe(false);
    expect(refused?.retryAfterSeconds).toBeGreaterThan(890);
  });

  it('ends a short window of its own accord', async () => {
    const short = store.limiter({ signup_ip: { points: 1, windowSeconds: 1 } });
    const key = newKey();
    expect((await short.attempt('signup_ip', key)).allowed).toBe(true);
    const refused = await short.attempt('signup_ip', key);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 1 });
    await sleep(1100);
    expect(await short.attempt('signup_ip', key)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('shares one count between limiters on the same store, as nodes do', async () => {
    const other = store.limiter();
    const key = newKey();
    await attemptTimes(limiter, 'login_account_ip', key, 3);
    const fromB = await attemptTimes(other, 'login_account_ip', key, 3);
    expect(fromB.map((r) => r.allowed)).toEqual([true, true, false]);
    await other.reset('login_account_ip', key);
    expect((await limiter.attempt('login_account_ip', key)).remaining).toBe(4);
  });

  it('works on its first call, straight after creation', async () => {
    const key = newKey();
    expect(await store.limiter().attempt('reset_ip', key)).toMatchObject({
      allowed: true,
      remaining: 9,
      retryAfterSeconds: 0,
    });
    expect(await store.points('reset_ip', key)).toBe(1);
  });

  it('takes keys of any length and content, telling long ones apart', async () => {
    const long = `${newKey()}${'x'.repeat(10_000)}`;
    const longToo = `${long.slice(0, -1)}y`;
    used.push(long, longToo);
    await attemptTimes(limiter, 'login_account_ip', long, 5);
    expect((await limiter.attempt('login_account_ip', long)).allowed).toBe(false);
    expect((await limiter.attempt('login_account_ip', longToo)).remaining).toBe(4);
    await limiter.reset('login_account_ip', long);
    expect((await limiter.attempt('login_account_ip', long)).remaining).toBe(4);

    const odd = `${newKey()}\0'"; drop table rate_limits; -- ☃ 😀`;
    used.push(odd);
    expect((await limiter.attempt('signup_ip', odd)).remaining).toBe(9);
    expect((await limiter.attempt('signup_ip', odd)).remaining).toBe(8);
  });
});

describe('the database store', () => {
  let db: Db;
  let close: () => Promise<void>;
  let limiter: RateLimiter;

  beforeAll(async () => {
    ({ db, close } = await openTestDb({ migrated: true }));
    limiter = createRateLimiter({ db, redisUrl: undefined, logger: quiet });
  });

  afterAll(async () => {
    await limiter.close();
    await close();
  });

  it('keeps one row per limit and key, named by the limit, with keys no longer than 512 characters', async () => {
    await db.deleteFrom('rate_limits').execute();
    await limiter.attempt('login_account_ip', 'ada@example.com|203.0.113.9');
    await limiter.attempt('login_account_ip', 'ada@example.com|203.0.113.9');
    await limiter.attempt('login_ip', '203.0.113.9');
    await limiter.attempt('reset_email', 'x'.repeat(10_000));
    const rows = await db.selectFrom('rate_limits').select(['key', 'points']).orderBy('key').execute();
    expect(rows).toEqual([
      { key: 'login_account_ip:ada@example.com|203.0.113.9', points: 2 },
      { key: 'login_ip:203.0.113.9', points: 1 },
      { key: expect.stringMatching(/^reset_email:sha256:[0-9a-f]{64}$/), points: 1 },
    ]);
  });

  it('sweeps only expired counters, and says how many', async () => {
    await db.deleteFrom('rate_limits').execute();
    for (const key of ['a', 'b', 'c', 'd']) await limiter.attempt('signup_ip', key);
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
      const failing = createRateLimiter({ db: bare.db, redisUrl: undefined, logger: quiet });
      const key = 'ada@example.com|203.0.113.9';
      const error = await failing.attempt('login_account_ip', key).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/^rate limit store failed/);
      expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('ada@example.com');
    } finally {
      await bare.close();
    }
  });
});
