/**
 * Rate limits while Redis is unreachable (REDIS_URL set): counting falls back to the database,
 * which every node shares too, so the limits still hold; it goes back to Redis once Redis answers
 * again, without a restart. Redis is reached through a TCP proxy the test breaks on purpose.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Db } from '../../db/database.ts';
import { createRateLimiter, type RateLimiter } from '../../server/rate-limit/rate-limits.ts';
import { openTestDb } from '../support/database.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually } from '../support/tessera.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let db: Db;
let closeDb: () => Promise<void>;
let redis: Redis;
let proxy: TcpProxy;
let limiter: RateLimiter;
let logLines: string[] = [];

const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

const newKey = () => `${randomUUID()}@example.com|203.0.113.7`;
const redisPoints = async (key: string) => {
  const value = await redis.get(`tessera:totp_account:${key}`);
  return value === null ? undefined : Number(value);
};
const databasePoints = async (key: string) =>
  (await db.selectFrom('rate_limits').select('points').where('key', '=', `totp_account:${key}`).executeTakeFirst())
    ?.points;
const burst = (key: string, n = 120) =>
  Promise.all(Array.from({ length: n }, () => limiter.attempt('totp_account', key)));

beforeAll(async () => {
  ({ db, close: closeDb } = await openTestDb({ migrated: true }));
  redis = new Redis(REDIS_URL);
  const target = new URL(REDIS_URL);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  limiter = createRateLimiter({ db, redisUrl: proxy.url(REDIS_URL), logger });
});

beforeEach(() => {
  proxy.restore();
  logLines = [];
});

afterAll(async () => {
  await limiter?.close();
  await proxy?.close();
  await redis?.quit();
  await closeDb?.();
});

describe('with Redis reachable', () => {
  it('counts in Redis, not in the database', async () => {
    const key = newKey();
    const results = await burst(key);
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    expect(await redisPoints(key)).toBe(120);
    expect(await databasePoints(key)).toBeUndefined();
  });
});

describe('with Redis down', () => {
  it('still answers every attempt, holding the limit in the database, and says so once in the log', async () => {
    proxy.refuse();
    const key = newKey();
    const results = await burst(key);
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    expect(results.filter((r) => !r.allowed).every((r) => r.retryAfterSeconds >= 1)).toBe(true);
    expect(await databasePoints(key)).toBe(120);
    expect(await redisPoints(key)).toBeUndefined();

    const warnings = logLines.filter((line) => line.includes('Redis is unreachable'));
    expect(warnings).toHaveLength(1);
    expect(logLines.join('')).not.toContain('@example.com');
  });

  it('answers attempts whose connection is cut under them', async () => {
    const key = newKey();
    const pending = burst(key, 150);
    proxy.cut();
    const results = await pending;
    // Some were counted in Redis before the cut, the rest in the database; none failed.
    expect(results).toHaveLength(150);
    expect(results.filter((r) => r.allowed).length).toBeGreaterThanOrEqual(5);
    expect(results.filter((r) => r.allowed).length).toBeLessThanOrEqual(10);
  });

  it('goes back to Redis once it answers again, without a restart', async () => {
    proxy.refuse();
    await limiter.attempt('totp_account', newKey()); // counted in the database
    proxy.restore();
    const key = newKey();
    await eventually(async () => {
      await limiter.attempt('totp_account', key);
      expect(await redisPoints(key)).toBeGreaterThanOrEqual(1);
    });
    const before = (await redisPoints(key)) ?? 0;
    const results = await burst(key, 100);
    expect(await redisPoints(key)).toBe(before + 100);
    expect(results.filter((r) => r.allowed).length).toBe(Math.max(0, 5 - before));
    expect(logLines.some((line) => line.includes('Redis is reachable again'))).toBe(true);
  });
});

describe('with Redis never reachable', () => {
  it('counts in the database from the first attempt', async () => {
    const unreachable = createRateLimiter({ db, redisUrl: 'redis://127.0.0.1:1', logger });
    try {
      const key = newKey();
      const results = await Promise.all(Array.from({ length: 100 }, () => unreachable.attempt('totp_account', key)));
      expect(results.filter((r) => r.allowed)).toHaveLength(5);
      expect(await databasePoints(key)).toBe(100);
      await unreachable.reset('totp_account', key);
      expect(await databasePoints(key)).toBeUndefined();
    } finally {
      await unreachable.close();
    }
  });
});
