import { type RawBuilder, sql } from 'kysely';
import type { Db } from '../database.ts';
import { numberedValues, preparedQueryPerCount } from '../prepared-query.ts';

/** A counter as the database sees it: points used in its window, milliseconds until the window ends (its clock). */
export interface RateLimitCount {
  points: number;
  ms_left: number;
}

// Measured by the database's clock, which set expires_at, so no node's clock skew shifts a window.
const msLeft = sql<number>`(extract(epoch from expires_at - now()) * 1000)::float8`.as('ms_left');

/**
 * Counts one point against `key` in one atomic statement: a missing or expired counter restarts at 1
 * with a new window of `windowSeconds`, a live one adds 1 and keeps its window. Concurrent calls on
 * one key (from any node) serialise on the primary key, so each is counted exactly once.
 */
export async function incrementRateLimit(db: Db, key: string, windowSeconds: number): Promise<RateLimitCount> {
  return db
    .insertInto('rate_limits')
    .values({ key, points: 1, expires_at: sql<Date>`now() + make_interval(secs => ${windowSeconds})` })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        points: sql<number>`case when rate_limits.expires_at <= now() then 1 else rate_limits.points + 1 end`,
        expires_at: sql<Date>`case when rate_limits.expires_at <= now() then excluded.expires_at else rate_limits.expires_at end`,
      }),
    )
    .returning(['points', msLeft])
    .executeTakeFirstOrThrow();
}

/** One counter of `incrementRateLimitsInTurn`: its key, its window, and the points it allows. */
export interface RateLimitInTurn {
  key: string;
  windowSeconds: number;
  points: number;
}

// One upsert of `incrementRateLimit`, as a named CTE; `gate` decides whether it counts at all.
const upsertCte = (name: string, key: unknown, windowSeconds: unknown, gate: RawBuilder<unknown>) => sql`
  ${sql.raw(name)} as (
    insert into rate_limits (key, points, expires_at)
    select ${key}::text, 1, now() + make_interval(secs => ${windowSeconds}) ${gate}
    on conflict (key) do update set
      points = case when rate_limits.expires_at <= now() then 1 else rate_limits.points + 1 end,
      expires_at = case when rate_limits.expires_at <= now() then excluded.expires_at else rate_limits.expires_at end
    returning points, (extract(epoch from expires_at - now()) * 1000)::float8 as ms_left
  )`;

/** `incrementRateLimitsInTurn`'s statement for `count` counters, compiled once per count. */
const incrementInTurn = preparedQueryPerCount((count: number) => (_db: Db, v: Record<string, unknown>) => {
  const ctes = Array.from({ length: count }, (_, i) => {
    const gate = i > 0 ? sql`where (select points from ${sql.raw(`c${i - 1}`)}) <= ${v[`points${i - 1}`]}::int` : sql``;
    return upsertCte(`c${i}`, v[`key${i}`], v[`window${i}`], gate);
  });
  const counts = Array.from(
    { length: count },
    (_, i) => sql`select ${i}::int as i, points, ms_left from ${sql.raw(`c${i}`)}`,
  );
  return sql<RateLimitCount & { i: number }>`
    with ${sql.join(ctes)} ${sql.join(counts, sql` union all `)} order by i`;
});

/**
 * `incrementRateLimit` for each counter in turn, in one statement: a counter is counted only when
 * the one before it is still within its points, so the counts come back up to and including the
 * first that went over (the later ones untouched). Each CTE reads the one before it, which makes
 * PostgreSQL run them in order, so rows are locked in the order given, as one call at a time would.
 */
export async function incrementRateLimitsInTurn(db: Db, limits: RateLimitInTurn[]): Promise<RateLimitCount[]> {
  const values = numberedValues(limits, ({ key, windowSeconds, points }, i) =>
    // The last counter's points gate nothing after it.
    i < limits.length - 1 ? { key, window: windowSeconds, points } : { key, window: windowSeconds },
  );
  const rows = await incrementInTurn(limits.length)(db, values);
  return rows.map(({ points, ms_left }) => ({ points, ms_left }));
}

/** `decrementRateLimits`' statement for `count` counters, compiled once per count. */
const decrementTogether = preparedQueryPerCount((count: number) => (_db: Db, v: Record<string, unknown>) => {
  const given = sql.join(
    Array.from({ length: count }, (_, i) => sql`(${v[`key${i}`]}::text, ${v[`points${i}`]}::int, ${i}::int)`),
  );
  return sql`
    with given (key, n, position) as (values ${given}),
    locked as (
      select rate_limits.key, given.n from rate_limits join given on given.key = rate_limits.key
      where rate_limits.expires_at > now() order by given.position for update of rate_limits
    )
    update rate_limits set points = greatest(rate_limits.points - locked.n, 0)
    from locked where rate_limits.key = locked.key`;
});

/**
 * `decrementRateLimit` for several counters in one statement. Their rows are locked in the order
 * given (the order they were counted in), so it cannot deadlock with `incrementRateLimitsInTurn`.
 */
export async function decrementRateLimits(db: Db, takes: { key: string; points: number }[]): Promise<void> {
  if (takes.length === 0) return;
  await decrementTogether(takes.length)(
    db,
    numberedValues(takes, ({ key, points }) => ({ key, points })),
  );
}

/**
 * Takes up to `points` back from the live counter of `key`, never below zero, in one atomic
 * statement; an ended window is left alone (its count no longer matters).
 */
export async function decrementRateLimit(db: Db, key: string, points: number): Promise<void> {
  await db
    .updateTable('rate_limits')
    .set({ points: sql<number>`greatest(points - ${points}, 0)` })
    .where('key', '=', key)
    .where('expires_at', '>', sql<Date>`now()`)
    .execute();
}

export async function deleteRateLimit(db: Db, key: string): Promise<void> {
  await db.deleteFrom('rate_limits').where('key', '=', key).execute();
}

export async function deleteExpiredRateLimits(db: Db): Promise<number> {
  const result = await db.deleteFrom('rate_limits').where('expires_at', '<=', sql<Date>`now()`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
