import type { ClientMetadata, KoaContextWithOIDC } from 'oidc-provider';
import { CONSOLE_CLIENT_ID } from './console-client.ts';

/**
 * Tessera's own account page signs people in like any app would, through a built-in public client.
 * It is first-party and asks only for `openid`, so it gets its grant without a consent screen.
 */
export const ACCOUNT_CLIENT_ID = 'tessera-account';
export const ACCOUNT_CALLBACK_PATH = '/account/callback';

export function accountClient(issuer: string): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    client_name: 'Your Tessera account',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [new URL(ACCOUNT_CALLBACK_PATH, issuer).href],
    scope: 'openid',
  };
}

// Tessera's own clients: they sign people in to Tessera itself, so there is nothing to consent to.
const FIRST_PARTY = new Set([ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID]);

/** The library's default, plus an automatic `openid` grant for the account and console clients. */
export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const clientId = oidc.client?.clientId ?? '';
  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(clientId);
  if (grantId) return oidc.provider.Grant.find(grantId);
  if (!FIRST_PARTY.has(clientId) || !oidc.session?.accountId) return undefined;
  const grant = new oidc.provider.Grant({ clientId, accountId: oidc.session.accountId });
  grant.addOIDCScope('openid');
  await grant.save();
  return grant;
}
