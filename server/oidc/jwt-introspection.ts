import type { JWK } from 'jose';
import type { Adapter, KoaContextWithOIDC, Provider } from 'oidc-provider';
import { verifyAccessToken } from '../keys/access-tokens.ts';

/**
 * oidc-provider does not store JWT access tokens, so its introspection endpoint refuses them with
 * `unsupported_token_type`. Resource servers still expect an answer, so this middleware (added
 * with `provider.use` at the introspection endpoint, see at-routes.ts) takes over after the
 * library has authenticated the calling client, and answers from the token itself: signature by
 * one of our keys, issuer, `typ`, expiry, and, for tokens issued to a user, whether their grant
 * still exists (a revoked grant is deleted).
 * `recordJwtAccessToken` keeps the jti → grant link that last check needs; a token revoked at
 * the revocation endpoint is marked there too (see revocation.ts).
 */
export const JWT_ACCESS_TOKEN_MODEL = 'JwtAccessToken';

interface Dependencies {
  issuer: string;
  publicKeys: () => JWK[];
  records: Adapter;
  clientExists: (clientId: string) => Promise<boolean>;
}

export function jwtIntrospection(deps: Dependencies) {
  return async function introspectJwtAccessTokens(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
    await next();
    const body = ctx.body as { error?: string } | undefined;
    if (body?.error !== 'unsupported_token_type') return;
    const { client, params, provider } = ctx.oidc;
    if (!client || typeof params?.token !== 'string') return;
    ctx.status = 200;
    ctx.body = await introspect(deps, provider, params.token, client.clientId, client.clientAuthMethod === 'none');
  };
}

async function introspect(
  deps: Dependencies,
  provider: Provider,
  token: string,
  callerId: string,
  callerIsPublic: boolean,
): Promise<Record<string, unknown>> {
  const inactive = { active: false };
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await verifyAccessToken(token, deps.publicKeys(), { issuer: deps.issuer }));
  } catch {
    return inactive;
  }
  const clientId = String(payload.client_id);
  if ((await deps.records.find(String(payload.jti)))?.revoked) return inactive;
  // Same rule as the library's default policy: a public client may only look at its own tokens.
  if (callerIsPublic && clientId !== callerId) return inactive;
  if (payload.sub === clientId) {
    if (!(await deps.clientExists(clientId))) return inactive;
  } else {
    const grant = await grantOfJwtAccessToken(deps.records, provider, String(payload.jti));
    if (!grant || grant.clientId !== clientId) return inactive;
  }
  return { ...payload, active: true, token_type: payload.cnf ? 'DPoP' : 'Bearer' };
}

/** Whether a JWT access token (by `jti`) was revoked at the revocation endpoint. */
export async function jwtAccessTokenRevoked(records: Adapter, jti: string): Promise<boolean> {
  return Boolean((await records.find(jti))?.revoked);
}

/** Who a person's JWT access token was issued to, while it and its grant live (a revoked grant is deleted). */
export async function grantOfJwtAccessToken(
  records: Adapter,
  provider: Provider,
  jti: string,
): Promise<{ accountId: string | undefined; clientId: string | undefined } | undefined> {
  const record = await records.find(jti);
  if (record?.revoked) return undefined;
  const grant = record?.grantId ? await provider.Grant.find(String(record.grantId)) : undefined;
  return grant ? { accountId: grant.accountId, clientId: grant.clientId } : undefined;
}
