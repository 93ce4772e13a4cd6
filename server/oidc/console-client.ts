import type { ClientMetadata } from 'oidc-provider';

/**
 * The admin console signs operators in through a built-in public client, as /account does: it is
 * first-party and asks only for `openid`, so it gets its grant without a consent screen. What the
 * console checks after (the `admin` role, a second factor) is in server/console/session.ts.
 */
export const CONSOLE_CLIENT_ID = 'tessera-console';
export const CONSOLE_CALLBACK_PATH = '/admin/callback';

export function consoleClient(issuer: string): ClientMetadata {
  return {
    client_id: CONSOLE_CLIENT_ID,
    client_name: 'Tessera admin console',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [new URL(CONSOLE_CALLBACK_PATH, issuer).href],
    scope: 'openid',
  };
}
