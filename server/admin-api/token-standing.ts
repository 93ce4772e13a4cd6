import type { JWTPayload } from 'jose';
import type { Db } from '../../db/database.ts';
import { findClient } from '../../db/repositories/clients.ts';
import { findUserWithRoles } from '../../db/repositories/users.ts';

/**
 * Whether an admin API access token still stands. Its signature says only what was true when it
 * was issued; the admin API asks again, so taking an admin's role, disabling them or revoking the
 * grant (logout, /account, token revocation) ends the token's use:
 * - a person's token: its grant still exists, the user is enabled and holds `admin` now;
 * - a machine client's token (sub = client_id): the client exists, is still granted the admin
 *   API and holds `admin` now.
 * Answers are cached per token for STANDING_CACHE_MS, so a change takes effect within that.
 */
export type Standing = 'admin' | 'not_admin' | 'revoked';

export const STANDING_CACHE_MS = 3_000;
const MAX_ENTRIES = 10_000;

export interface StandingDeps {
  db: Db;
  adminRole: string;
  adminAudience: string;
  grantOfAccessToken: (
    jti: string,
  ) => Promise<{ accountId?: string | undefined; clientId?: string | undefined } | undefined>;
  /** A machine token revoked at the revocation endpoint (a person's loses its grant link instead). */
  accessTokenRevoked: (jti: string) => Promise<boolean>;
}

export function tokenStanding(deps: StandingDeps): (payload: JWTPayload) => Promise<Standing> {
  const cache = new Map<string, { standing: Standing; until: number }>();
  return async (payload) => {
    if (typeof payload.jti !== 'string') return 'revoked';
    const key = payload.jti;
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return hit.standing;
    const standing = await standingOf(deps, payload);
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(key, { standing, until: Date.now() + STANDING_CACHE_MS });
    return standing;
  };
}

async function standingOf(deps: StandingDeps, payload: JWTPayload): Promise<Standing> {
  const clientId = String(payload.client_id);
  if (payload.sub === clientId) {
    if (await deps.accessTokenRevoked(String(payload.jti))) return 'revoked';
    const client = await findClient(deps.db, clientId);
    if (!client?.apis.includes(deps.adminAudience)) return 'revoked';
    return client.roles.includes(deps.adminRole) ? 'admin' : 'not_admin';
  }
  const grant = await deps.grantOfAccessToken(String(payload.jti));
  if (!grant || grant.clientId !== clientId || grant.accountId !== payload.sub) return 'revoked';
  const user = await findUserWithRoles(deps.db, String(payload.sub));
  if (!user || user.disabled_at) return 'revoked';
  return user.roles.includes(deps.adminRole) ? 'admin' : 'not_admin';
}
