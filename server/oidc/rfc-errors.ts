import type { KoaContextWithOIDC } from 'oidc-provider';

/**
 * oidc-provider answers a client using a grant type it is not registered for with
 * `invalid_request`; RFC 6749 §5.2 names that `unauthorized_client`, and client libraries branch
 * on the code. Added with `provider.use`, this renames that one answer after the route ran.
 */
const NOT_ALLOWED = 'requested grant type is not allowed for this client';

export async function rfc6749ErrorCodes(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
  await next();
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  if (ctx.oidc?.route === 'token' && body?.error === 'invalid_request' && body.error_description === NOT_ALLOWED) {
    body.error = 'unauthorized_client';
  }
}
