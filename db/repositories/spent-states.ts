import type { Db } from '../database.ts';

/**
 * Single-use markers for values a browser brings back once (an upstream sign-in's `state`), kept
 * beside oidc-provider's own artifacts so the same sweep removes them once expired. The primary
 * key makes the first spender the only one, however many requests race.
 */
const TYPE = 'SpentUpstreamState';

/** True for the first call with this key (a hash, never the value itself); false for every later one. */
export async function spendOnce(db: Db, key: string, expiresAt: Date): Promise<boolean> {
  const inserted = await db
    .insertInto('oidc_payloads')
    .values({ type: TYPE, id: key, payload: '{}', expires_at: expiresAt })
    .onConflict((oc) => oc.doNothing())
    .returning('id')
    .executeTakeFirst();
  return inserted !== undefined;
}
