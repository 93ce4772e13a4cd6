import type { JWK } from 'jose';
import type { Middleware } from 'koa';
import type { Db } from '../../db/database.ts';
import { authenticateApiKey } from '../api-keys/api-keys.ts';
import { AppError } from '../errors.ts';
import { verifyAccessToken } from '../keys/access-tokens.ts';
import type { Caller } from './endpoint.ts';
import { type StandingDeps, tokenStanding } from './token-standing.ts';

/**
 * Who may call the admin API: an access token from this issuer for the admin API's audience (a
 * JWT, checked locally against the signing keys) whose subject still stands as an admin (see
 * token-standing.ts: live grant, enabled user or granted client, `admin` role held now), or an
 * API key with that role. 401 with a Bearer challenge for no, bad or revoked credentials
 * (RFC 6750), 403 without the role.
 */
export const ADMIN_ROLE = 'admin';
export const adminAudience = (issuer: string) => `${issuer}/api/admin`;

interface AuthDeps {
  db: Db;
  issuer: string;
  publicKeys: () => JWK[];
  grantOfAccessToken: StandingDeps['grantOfAccessToken'];
  accessTokenRevoked: StandingDeps['accessTokenRevoked'];
}

function refuse(ctx: Parameters<Middleware>[0], status: 401 | 403, error: string, description: string): never {
  const challenge = error ? `Bearer realm="tessera", error="${error}"` : 'Bearer realm="tessera"';
  ctx.set('WWW-Authenticate', challenge);
  throw new AppError(status === 401 ? 'unauthorized' : 'forbidden', description);
}

export function adminAuthentication(deps: AuthDeps): Middleware {
  const audience = adminAudience(deps.issuer);
  const standing = tokenStanding({
    db: deps.db,
    adminRole: ADMIN_ROLE,
    adminAudience: audience,
    grantOfAccessToken: deps.grantOfAccessToken,
    accessTokenRevoked: deps.accessTokenRevoked,
  });
  return async (ctx, next) => {
    const presented = /^Bearer\s+(\S+)$/i.exec(ctx.get('authorization'))?.[1];
    if (!presented) refuse(ctx, 401, '', 'Send an admin access token or API key: Authorization: Bearer …');
    let caller: Caller;
    let isAdmin: boolean;
    if (presented.startsWith('tsk_')) {
      const key = await authenticateApiKey(deps.db, presented);
      if (!key) refuse(ctx, 401, 'invalid_token', 'The API key is unknown, revoked or expired.');
      caller = { kind: 'api_key', id: key.id };
      isAdmin = Array.isArray(key.roles) && key.roles.includes(ADMIN_ROLE);
    } else {
      let payload: Awaited<ReturnType<typeof verifyAccessToken>>['payload'];
      try {
        ({ payload } = await verifyAccessToken(presented, deps.publicKeys(), { issuer: deps.issuer, audience }));
      } catch {
        refuse(ctx, 401, 'invalid_token', 'The access token is invalid, expired or not meant for the admin API.');
      }
      const now = await standing(payload);
      if (now === 'revoked') {
        refuse(ctx, 401, 'invalid_token', 'The access token was revoked, or its user or client is no longer allowed.');
      }
      caller = { kind: 'token', subject: String(payload.sub) };
      isAdmin = now === 'admin';
    }
    if (!isAdmin) refuse(ctx, 403, 'insufficient_scope', 'This needs the admin role.');
    ctx.state.caller = caller;
    await next();
  };
}
