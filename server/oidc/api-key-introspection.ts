import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Db } from '../../db/database.ts';
import { API_KEY_PREFIX, authenticateApiKey } from '../api-keys/api-keys.ts';

/**
 * Resource servers check API keys the way they check tokens: at the introspection endpoint. The
 * library answers a `tsk_` value inactive (it is no token of its); added with `provider.use` at
 * that endpoint (at-routes.ts), this answers for the key instead, after the library has
 * authenticated the calling client. Public clients get no answer about keys, as they get none
 * about other clients' tokens.
 */
export function apiKeyIntrospection(db: Db, issuer: string) {
  return async function introspectApiKeys(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    await next();
    const body = ctx.body as { active?: boolean } | undefined;
    const token = ctx.oidc?.params?.token;
    if (body?.active !== false) return;
    if (typeof token !== 'string' || !token.startsWith(API_KEY_PREFIX)) return;
    if (!ctx.oidc.client || ctx.oidc.client.clientAuthMethod === 'none') return;
    const key = await authenticateApiKey(db, token);
    if (!key) return;
    ctx.body = {
      active: true,
      token_type: 'api_key',
      iss: issuer,
      jti: key.id,
      name: key.name,
      owner: key.owner,
      roles: key.roles,
      iat: Math.floor(key.created_at.getTime() / 1000),
      exp: key.expires_at ? Math.floor(key.expires_at.getTime() / 1000) : undefined,
    };
  };
}
