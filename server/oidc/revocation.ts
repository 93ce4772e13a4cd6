import type { JWK } from 'jose';
import type { Adapter, KoaContextWithOIDC } from 'oidc-provider';
import { verifyAccessToken } from '../keys/access-tokens.ts';

/**
 * The revocation endpoint (RFC 7009) as client libraries expect it, added with `provider.use` at
 * that endpoint (at-routes.ts):
 * - a success is `{}` typed application/json: oidc-provider's empty text/plain answer makes
 *   oidc-client-ts throw, so an SPA with `revokeTokensOnSignout` never reaches /session/end;
 * - a JWT access token, which the library refuses (`unsupported_token_type`, as it never stores
 *   one), is revoked by marking its `jti` in the records that introspection reads, so
 *   introspection answers inactive from then on.
 * Only the client a token was issued to revokes it, JWT or not; for another client's token the
 * answer is the same 200 as for an unknown one (RFC 7009 §2.2), so it tells nothing.
 * A resource server that only checks signatures keeps accepting the token until it expires.
 */
interface Dependencies {
  issuer: string;
  publicKeys: () => JWK[];
  records: Adapter;
}

export function revocationAsLibrariesExpect(deps: Dependencies) {
  return async function answerRevocation(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    await next();
    const body = ctx.body as { error?: string } | undefined;
    if (body?.error === 'unsupported_token_type') {
      const { client, params } = ctx.oidc;
      if (!client || typeof params?.token !== 'string') return;
      await revokeJwt(deps, params.token, client.clientId);
    } else if (ctx.status !== 200) {
      return;
    }
    ctx.status = 200;
    ctx.body = {};
  };
}

async function revokeJwt(deps: Dependencies, token: string, callerId: string): Promise<void> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await verifyAccessToken(token, deps.publicKeys(), { issuer: deps.issuer }));
  } catch {
    return;
  }
  if (payload.client_id !== callerId || typeof payload.jti !== 'string') return;
  const expiresIn = Number(payload.exp) - Math.floor(Date.now() / 1000);
  if (expiresIn <= 0) return;
  const record = (await deps.records.find(payload.jti)) ?? {};
  await deps.records.upsert(payload.jti, { ...record, clientId: callerId, revoked: true }, expiresIn);
}
