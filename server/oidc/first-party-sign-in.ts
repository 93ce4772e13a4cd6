import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import { randomToken, sha256 } from '../secrets.ts';

/**
 * The built-in first-party clients (the account page, the admin console) know who is signed in
 * from oidc-provider's own session cookie, and sign people in through /auth like any app. The
 * code that comes back is never redeemed: the session is what counts, so the PKCE challenge and
 * state are throwaway values.
 */

/** The provider session this browser's cookie names, with the cookie's id; undefined when none. */
export async function browserSession(ctx: Context, provider: Provider) {
  const id = ctx.cookies.get('_session', { signed: true });
  const session = id ? await provider.Session.find(id) : undefined;
  return session ? { id: id as string, session } : undefined;
}

/** Sends the browser to /auth for `clientId`; `extra` adds parameters such as a step-up. */
export function startFirstPartySignIn(
  ctx: Context,
  issuer: string,
  client: { id: string; callbackPath: string },
  extra: Record<string, string> = {},
) {
  const url = new URL('/auth', issuer);
  url.search = new URLSearchParams({
    client_id: client.id,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: new URL(client.callbackPath, issuer).href,
    code_challenge: sha256(randomToken()),
    code_challenge_method: 'S256',
    state: randomToken(16),
    ...extra,
  }).toString();
  ctx.status = 303;
  ctx.redirect(url.href);
}
