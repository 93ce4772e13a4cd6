import { type Grant, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

/**
 * A person consents to each API a client gets tokens for, scopes or not. The library prompts for
 * consent only when an API *scope* is missing from the grant, so an API with no scopes asked (or
 * none at all, like the admin API) would pass unseen once the person had consented to anything.
 * The grant therefore records every API consented to: its scopes, or for none a single space,
 * which no scope matches (an empty value would be dropped when the grant is saved).
 */
const CONSENTED_WITHOUT_SCOPES = ' ';

/** Records consent to `audience` with these scopes on the grant. */
export function recordApiConsent(grant: Grant, audience: string, scopes: string[]): void {
  if (scopes.length) grant.addResourceScope(audience, scopes.join(' '));
  else if (grant.resources?.[audience] === undefined) grant.addResourceScope(audience, CONSENTED_WITHOUT_SCOPES);
}

/** A consent check: some API asked for is not on the grant yet. */
export const apiNotConsented = new interactionPolicy.Check(
  'rs_not_consented',
  'an API was asked for that was not consented to',
  (ctx: KoaContextWithOIDC) => {
    const consented = ctx.oidc.grant?.resources ?? {};
    return Object.keys(ctx.oidc.resourceServers ?? {}).some((audience) => consented[audience] === undefined)
      ? interactionPolicy.Check.REQUEST_PROMPT
      : interactionPolicy.Check.NO_NEED_TO_PROMPT;
  },
);
