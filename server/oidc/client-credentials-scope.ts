import { errors, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * RFC 6749 §3.3 for client_credentials, where no person narrows a request by consenting:
 * - a scope the client may not have is refused with `invalid_scope`, never dropped in silence;
 * - a request naming no scope gets every scope the client holds (for the API it named), so the
 *   token and the token response name them.
 * oidc-provider's handler reads `params.scope` right after it resolved the resource, which is
 * where this runs (getResourceServerInfo, or defaultResource when no resource was named).
 * Other routes and grant types pass untouched.
 */
export function settleClientCredentialsScope(ctx: KoaContextWithOIDC, allowed: string[]): void {
  const params = ctx.oidc.params as { grant_type?: unknown; scope?: unknown } | undefined;
  if (ctx.oidc.route !== 'token' || params?.grant_type !== 'client_credentials') return;
  const requested = typeof params.scope === 'string' ? params.scope.split(' ').filter(Boolean) : [];
  if (requested.length === 0) {
    if (allowed.length) params.scope = allowed.join(' ');
    return;
  }
  const refused = requested.find((s) => !allowed.includes(s));
  if (refused) throw new errors.InvalidScope('requested scope is not allowed for this client', refused);
}
