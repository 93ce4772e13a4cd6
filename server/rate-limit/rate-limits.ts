import { createHash } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import { deleteExpiredRateLimits } from '../../db/repositories/rate-limits.ts';
import type { Logger } from '../logger.ts';
import { createDatabaseStore } from './database-store.ts';
import { createFallbackStore } from './fallback-store.ts';
import { createRedisStore } from './redis-store.ts';

/**
 * Brute-force limits: failed logins, TOTP codes, sign-ups, reset requests, device-flow user codes
 * and passkey challenges.
 *
 * Rules this file enforces, whichever store counts:
 * - one way to spend an attempt: `attempt` counts it first, in one atomic step, and only then says
 *   whether the secret may be checked; so however many requests arrive at once, at most `points`
 *   of them are checked in a window (there is no look-then-count gap to race through);
 * - a fixed window per (limit, key): the first attempt opens it for `windowSeconds`, each attempt
 *   adds one point, and an attempt is allowed while the points used are at most `points`;
 * - a success gives points back (`succeeded`): on a per-account limit it forgets the attempts
 *   counted up to it (the person proved the secret), never those counted after it, still in
 *   flight; on a per-address limit only its own point, so one good login does not wipe the
 *   guesses others made from the same address;
 * - the count lives in the database, or in Redis (REDIS_URL), falling back to the database while
 *   Redis is unreachable; every node shares either;
 * - keys are the caller's, untouched, unless too long for an index (or holding a NUL, which
 *   Postgres text refuses): those are replaced by their SHA-256;
 * - keys hold emails and IPs, so no error leaving here carries one (store errors are rebuilt from
 *   their message alone: drivers attach the query's parameters to theirs).
 */
export type RateLimitName =
  | 'login_account_ip'
  | 'login_account'
  | 'login_device'
  | 'login_ip'
  | 'signup_ip'
  | 'signup_email'
  | 'reset_email'
  | 'reset_ip'
  | 'totp_account'
  | 'device_code_ip'
  | 'passkey_challenge';

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
  // A browser that signed in to the account before (known-device.ts): its own count, instead of
  // the two above, so nobody elsewhere can use them up for it.
  login_device: { points: 5, windowSeconds: 15 * MINUTE },
  login_ip: { points: 50, windowSeconds: 15 * MINUTE },
  signup_ip: { points: 10, windowSeconds: HOUR },
  // Mails to a registered address saying someone tried to sign up with it: no mail-bombing.
  signup_email: { points: 3, windowSeconds: HOUR },
  reset_email: { points: 3, windowSeconds: HOUR },
  reset_ip: { points: 10, windowSeconds: HOUR },
  totp_account: { points: 5, windowSeconds: 15 * MINUTE },
  // Every code typed at /device (a sign-in there posts twice: the code, then the confirmation).
  device_code_ip: { points: 20, windowSeconds: 15 * MINUTE },
  // Passkey options asked per sign-in or session, each a stored challenge (passkey-options-limit.ts).
  passkey_challenge: { points: 20, windowSeconds: 5 * MINUTE },
});

// Limits counted per address: a success there gives back only its own point.
const PER_ADDRESS: ReadonlySet<RateLimitName> = new Set(['login_ip', 'signup_ip', 'reset_ip']);

export interface RateLimitResult {
  allowed: boolean;
  remaining: number;
  /** Whole seconds until the window ends (at least 1) when not allowed; 0 when allowed. */
  retryAfterSeconds: number;
}

/** One spent attempt. */
export interface Attempt extends RateLimitResult {
  /** The secret was right: gives points back as the limit's kind says (see the header). */
  succeeded(): Promise<void>;
}

/** Several limits spent for one attempt: allowed only when every one allows it. */
export type Attempts =
  | { allowed: true; succeeded(): Promise<void> }
  | { allowed: false; limit: RateLimitName; retryAfterSeconds: number };

export interface RateLimiter {
  /** Spends one attempt against `name` for `key`: counted first, then allowed or refused. */
  attempt(name: RateLimitName, key: string): Promise<Attempt>;
  /**
   * Spends one attempt against each limit in order, stopping at the first that refuses (the
   * later ones are then not counted: an address over its own limit does not use up an account's).
   */
  attemptAll(limits: ReadonlyArray<readonly [RateLimitName, string]>): Promise<Attempts>;
  /** Forgets the count (a password reset clears its account's counter). */
  reset(name: RateLimitName, key: string): Promise<void>;
  close(): Promise<void>;
}

/** A counter in a store after one increment. */
export interface Count {
  /** Points used in the current window, this one included. */
  used: number;
  /** Milliseconds until the window ends. */
  msLeft: number;
  /** Takes up to `points` back from the key's live counter, never below zero. */
  takeBack(points: number): Promise<void>;
}

/** Several counters counted in turn by a store at once (`CounterStore.incrementInTurn`). */
export interface CountsInTurn {
  /** Up to and including the first over its limit's points; the later ones were not counted. */
  counts: Omit<Count, 'takeBack'>[];
  /** Takes `points[i]` back from the i-th counter, as `Count.takeBack` does, all at once. */
  takeBack(points: number[]): Promise<void>;
}

/** What a store does; `key` is already safe to store, and each store namespaces it by `name`. */
export interface CounterStore {
  increment(name: RateLimitName, key: string): Promise<Count>;
  /**
   * Optional: counts several limits in turn in one step, as `increment` one after the other
   * would, stopping after the first over its points. A store without it is called once per limit.
   */
  incrementInTurn?(limits: ReadonlyArray<readonly [RateLimitName, string]>): Promise<CountsInTurn>;
  remove(name: RateLimitName, key: string): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  db: Db;
  redisUrl: string | undefined;
  logger: Logger;
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
  const database = createDatabaseStore(options.db, policies);
  const store = options.redisUrl
    ? createFallbackStore(createRedisStore(options.redisUrl, policies), database, options.logger)
    : database;

  const attempt = async (name: RateLimitName, key: string): Promise<Attempt> => {
    const { points } = policies[name];
    const count = await scrubbing(store.increment(name, storableKey(key)));
    const allowed = count.used <= points;
    return {
      allowed,
      remaining: Math.max(0, points - count.used),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil(count.msLeft / 1000)),
      succeeded: () => scrubbing(count.takeBack(PER_ADDRESS.has(name) ? 1 : count.used)),
    };
  };

  // One step for every limit, where the store can: the same counts as `attempt` on each in turn.
  const attemptInTurn = async (
    limits: ReadonlyArray<readonly [RateLimitName, string]>,
    incrementInTurn: NonNullable<CounterStore['incrementInTurn']>,
  ): Promise<Attempts> => {
    const counted = await scrubbing(incrementInTurn(limits.map(([name, key]) => [name, storableKey(key)] as const)));
    const points: number[] = [];
    for (const [i, count] of counted.counts.entries()) {
      const [name] = limits[i] as (typeof limits)[number];
      if (count.used > policies[name].points) {
        return { allowed: false, limit: name, retryAfterSeconds: Math.max(1, Math.ceil(count.msLeft / 1000)) };
      }
      points.push(PER_ADDRESS.has(name) ? 1 : count.used);
    }
    return { allowed: true, succeeded: () => scrubbing(counted.takeBack(points)) };
  };

  return {
    attempt,
    async attemptAll(limits) {
      if (store.incrementInTurn && limits.length > 1) return attemptInTurn(limits, store.incrementInTurn);
      const spent: Attempt[] = [];
      for (const [name, key] of limits) {
        const one = await attempt(name, key);
        if (!one.allowed) return { allowed: false, limit: name, retryAfterSeconds: one.retryAfterSeconds };
        spent.push(one);
      }
      return {
        allowed: true,
        succeeded: async () => {
          await Promise.all(spent.map((one) => one.succeeded()));
        },
      };
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
