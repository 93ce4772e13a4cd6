import { sql } from 'kysely';
import type { Db } from '../database.ts';

/** Adds `n` to today's (UTC) count of `kind`, in one statement whatever other nodes add at once. */
export async function addToDailyCount(db: Db, kind: string, n: number): Promise<void> {
  await db
    .insertInto('daily_counts')
    .values({ day: sql<string>`(now() at time zone 'UTC')::date`, kind, n })
    .onConflict((oc) => oc.columns(['day', 'kind']).doUpdateSet({ n: sql`daily_counts.n + excluded.n` }))
    .execute();
}

/** Deletes counts older than `days` days; the chart shows 30. */
export async function deleteDailyCountsOlderThan(db: Db, days: number): Promise<void> {
  await db
    .deleteFrom('daily_counts')
    .where('day', '<', sql<string>`(now() at time zone 'UTC')::date - ${days}::int`)
    .execute();
}
