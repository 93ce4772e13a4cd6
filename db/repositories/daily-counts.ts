import { type QueryCreator, sql } from 'kysely';
import type { Db } from '../database.ts';
import type { Schema } from '../schema.ts';

/** Adds to today's (UTC) count of each kind, in one statement whatever other nodes add at once. */
export async function addToDailyCounts(db: Db, counts: Map<string, number>): Promise<void> {
  if (counts.size === 0) return;
  await addingToDailyCounts(db, counts).execute();
}

/** The statement of `addToDailyCounts` (counts not empty), for another statement to run as a CTE. */
export function addingToDailyCounts(db: QueryCreator<Schema>, counts: Map<string, number>) {
  const day = sql<string>`(now() at time zone 'UTC')::date`;
  return db
    .insertInto('daily_counts')
    .values([...counts].map(([kind, n]) => ({ day, kind, n })))
    .onConflict((oc) => oc.columns(['day', 'kind']).doUpdateSet({ n: sql`daily_counts.n + excluded.n` }));
}

/** Per UTC day of the last `days` (today included): the counts of these kinds. */
export async function dailyCounts(db: Db, kinds: string[], days: number) {
  return db
    .selectFrom('daily_counts')
    .select([sql<string>`to_char(day, 'YYYY-MM-DD')`.as('day'), 'kind', sql<number>`n::int`.as('n')])
    .where('kind', 'in', kinds)
    .where('day', '>', sql<string>`(now() at time zone 'UTC')::date - ${days}::int`)
    .execute();
}

/** Deletes counts older than `days` days; the chart shows 30. */
export async function deleteDailyCountsOlderThan(db: Db, days: number): Promise<void> {
  await db
    .deleteFrom('daily_counts')
    .where('day', '<', sql<string>`(now() at time zone 'UTC')::date - ${days}::int`)
    .execute();
}
