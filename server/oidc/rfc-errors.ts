import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * Two answers where oidc-provider's error code differs from the one RFC 6749 §5.2 names, and
 * client libraries branch on the code: a client using a grant type it is not registered for
 * (`unauthorized_client`), and a request to an endpoint that needs client authentication
 * carrying none (`invalid_client`, 401). Added with `provider.use` at the token, introspection
 * and revocation endpoints, this renames them after the route ran; every other answer passes
 * untouched.
 */
const RENAMED: Record<string, { error: string; status: number }> = {
  'requested grant type is not allowed for this client': { error: 'unauthorized_client', status: 400 },
  'no client authentication mechanism provided': { error: 'invalid_client', status: 401 },
};

export async function rfc6749ErrorCodes(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
  await next();
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  const renamed = body?.error === 'invalid_request' && RENAMED[body.error_description ?? ''];
  if (!renamed) return;
  ctx.status = renamed.status;
  ctx.body = { ...body, error: renamed.error };
  if (renamed.status === 401) ctx.set('WWW-Authenticate', 'Basic realm="tessera"');
}
