import { sql } from 'kysely';
import type { Db } from '../database.ts';

/** Per UTC day of the last `days`: how many audit events of each of `types`, and each daily count. */
export async function activityByDay(
  db: Db,
  types: string[],
  days: number,
): Promise<{ day: string; kind: string; n: number }[]> {
  const { rows } = await sql<{ day: string; kind: string; n: number }>`
    select to_char((at at time zone 'UTC')::date, 'YYYY-MM-DD') as day, type as kind, count(*)::int as n
    from audit_events
    where type = any(${types}::text[])
      and at >= ((now() at time zone 'UTC')::date - ${days - 1}::int)::timestamp at time zone 'UTC'
    group by 1, 2
    union all
    select to_char(day, 'YYYY-MM-DD'), kind, n::int
    from daily_counts
    where day >= (now() at time zone 'UTC')::date - ${days - 1}::int`.execute(db);
  return rows;
}

/** Sessions that have not expired, across all users. */
export async function countActiveSessions(db: Db): Promise<number> {
  const row = await db
    .selectFrom('oidc_payloads')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('type', '=', 'Session')
    .where('expires_at', '>', new Date())
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
