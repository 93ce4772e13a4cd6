import { createHash } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import { deleteExpiredRateLimits } from '../../db/repositories/rate-limits.ts';
import { createDatabaseStore } from './database-store.ts';
import { createRedisStore } from './redis-store.ts';

/**
 * Brute-force limits (DESIGN.md): failed logins, TOTP codes, sign-ups and reset requests.
 *
 * Rules this file enforces, whichever store counts:
 * - a fixed window per (limit, key): the first counted attempt opens it for `windowSeconds`, each
 *   attempt adds one point, and a consume is allowed while the points used are at most `points`;
 * - the count lives in the database (one node) or Redis (REDIS_URL, several nodes share it);
 * - keys are the caller's, untouched, unless too long for an index (or holding a NUL, which
 *   Postgres text refuses): those are replaced by their SHA-256;
 * - keys hold emails and IPs, so no error leaving here carries one (store errors are rebuilt from
 *   their message alone: drivers attach the query's parameters to theirs).
 */
export type RateLimitName =
  | 'login_account_ip'
  | 'login_account'
  | 'login_ip'
  | 'signup_ip'
  | 'reset_email'
  | 'reset_ip'
  | 'totp_account';

/** The key of `login_account_ip`: the login as typed, from one address. */
export const loginAccountIpKey = (login: string, ip: string) => `${login.toLowerCase()}|${ip}`;

export interface RateLimitPolicy {
  readonly points: number;
  readonly windowSeconds: number;
}

const MINUTE = 60;
const HOUR = 60 * MINUTE;

export const RATE_LIMITS: Readonly<Record<RateLimitName, RateLimitPolicy>> = Object.freeze({
  login_account_ip: { points: 5, windowSeconds: 15 * MINUTE },
  // From every address together: guessing spread over many addresses still meets a limit.
  login_account: { points: 30, windowSeconds: 15 * MINUTE },
  login_ip: { points: 50, windowSeconds: 15 * MINUTE },
  signup_ip: { points: 10, windowSeconds: HOUR },
  reset_email: { points: 3, windowSeconds: HOUR },
  reset_ip: { points: 10, windowSeconds: HOUR },
  totp_account: { points: 5, windowSeconds: 15 * MINUTE },
});

export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  /** Whole seconds until the window ends (at least 1) when not allowed; 0 when allowed. */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  /** Counts one attempt against `name` for `key`; `allowed` false once the window's points are used up. */
  consume(name: RateLimitName, key: string): Promise<RateLimitResult>;
  /**
   * Looks without counting (used to refuse before checking a password): `allowed` says whether one
   * more attempt would be, so it is false as soon as every point is used (remaining 0).
   */
  peek(name: RateLimitName, key: string): Promise<RateLimitResult>;
  /** Forgets the count (a successful login clears its account's counter). */
  reset(name: RateLimitName, key: string): Promise<void>;
  close(): Promise<void>;
}

/** A counter in a store: points used in the current window and milliseconds until it ends. */
export interface Count {
  used: number;
  msLeft: number;
}

/** What a store does; `key` is already safe to store, and each store namespaces it by `name`. */
export interface CounterStore {
  increment(name: RateLimitName, key: string): Promise<Count>;
  read(name: RateLimitName, key: string): Promise<Count | undefined>;
  remove(name: RateLimitName, key: string): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  db: Db;
  redisUrl: string | undefined;
  /** Overrides of RATE_LIMITS (tests use short windows). */
  policies?: Partial<Record<RateLimitName, RateLimitPolicy>>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const policies = { ...RATE_LIMITS, ...options.policies };
  for (const [name, policy] of Object.entries(policies)) {
    if (!Number.isInteger(policy.points) || policy.points < 1) throw new Error(`rate limit ${name}: bad points`);
    if (!Number.isInteger(policy.windowSeconds) || policy.windowSeconds < 1) {
      throw new Error(`rate limit ${name}: bad windowSeconds`);
    }
  }
  const store = options.redisUrl
    ? createRedisStore(options.redisUrl, policies)
    : createDatabaseStore(options.db, policies);

  return {
    async consume(name, key) {
      const { points } = policies[name];
      const count = await scrubbing(store.increment(name, storableKey(key)));
      const allowed = count.used <= points;
      return result(allowed, points - count.used, count.msLeft);
    },
    async peek(name, key) {
      const { points } = policies[name];
      const count = await scrubbing(store.read(name, storableKey(key)));
      if (!count) return result(true, points, 0);
      return result(count.used < points, points - count.used, count.msLeft);
    },
    async reset(name, key) {
      await scrubbing(store.remove(name, storableKey(key)));
    },
    async close() {
      await scrubbing(store.close());
    },
  };
}

/** Deletes expired database counters; the server's sweeper calls it. */
export function sweepExpiredRateLimits(db: Db): Promise<number> {
  return deleteExpiredRateLimits(db);
}

function result(allowed: boolean, remaining: number, msLeft: number): RateLimitResult {
  return {
    allowed,
    remaining: Math.max(0, remaining),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(msLeft / 1000)),
  };
}

// A text primary key is a btree entry; 512 UTF-16 units stay well under its ~2.7 kB limit.
const MAX_KEY_LENGTH = 512;

function storableKey(key: string): string {
  if (key.length <= MAX_KEY_LENGTH && !key.includes('\0')) return key;
  return `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

async function scrubbing<T>(operation: Promise<T>): Promise<T> {
  try {
    return await operation;
  } catch (err) {
    // ioredis puts the command's arguments on its errors, PGlite the query's parameters: our keys.
    throw new Error(`rate limit store failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
