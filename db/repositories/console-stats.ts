import type { Db } from '../database.ts';

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
