import { Provider } from 'oidc-provider';
import type { Db } from '../db/database.ts';
import { artifactKey } from './artifact-key.ts';

/**
 * A used code or refresh token presented again is reuse: what oidc-provider does then
 * (lib/helpers/revoke.js), for every artifact of the grant in one statement, the Grant itself
 * included. The `grant.revoked` event tells the request's listeners (audit, log) once, by
 * whichever loser found the grant still there, not by each of a hundred.
 */
export async function revokeGrantOfReusedRow(db: Db, type: string, key: string): Promise<void> {
  const row = await db
    .selectFrom('oidc_payloads')
    .select('payload')
    .where('type', '=', type)
    .where('id', '=', key)
    .executeTakeFirst();
  const grantId = row?.payload.grantId;
  if (typeof grantId === 'string') await revokeReusedGrant(db, grantId);
}

/**
 * Revokes a grant found reused, telling the request's listeners when it was still there. The
 * request is the library's current one unless given (a middleware runs outside the library's).
 */
export async function revokeReusedGrant(db: Db, grantId: string, ctx = Provider.ctx): Promise<void> {
  if (!(await revokeGrant(db, grantId))) return;
  ctx?.oidc?.provider.emit('grant.revoked', ctx, grantId);
}

/** Deletes a grant and every artifact issued from it, whatever its model; answers how many rows went. */
async function revokeGrant(db: Db, grantId: string): Promise<number> {
  const key = artifactKey(grantId);
  const result = await db
    .deleteFrom('oidc_payloads')
    .where((eb) => eb.or([eb('grant_id', '=', key), eb.and([eb('type', '=', 'Grant'), eb('id', '=', key)])]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
