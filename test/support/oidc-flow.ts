import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { screenshot } from './browser.ts';

/**
 * A relying party as an app developer would write one with openid-client, and a person signing
 * in through Tessera's pages in the browser. `startClientApp` is the client's own web server:
 * it only has to answer its redirect URIs, where the test reads the code from the browser's URL.
 */
export interface ClientApp {
  redirectUri: string;
  postLogoutUri: string;
  close(): Promise<void>;
}

export async function startClientApp(): Promise<ClientApp> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' }).end('<p>the client app</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    postLogoutUri: `http://127.0.0.1:${port}/signed-out`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export function relyingParty(issuer: string, clientId: string, secret?: string) {
  return oidc.discovery(new URL(issuer), clientId, undefined, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface SignIn {
  app: ClientApp;
  login: string;
  password: string;
  scope?: string;
  extra?: Record<string, string>;
  /** Click Allow on the consent page when it shows; on by default. */
  consent?: boolean;
  /** Saves screenshots of the pages under this prefix. */
  screenshots?: string;
}

export interface StartedAuthorization {
  verifier: string;
  state: string;
}

/** Sends the browser to the authorization endpoint, as the client app would. */
export async function startAuthorization(
  page: Page,
  config: oidc.Configuration,
  app: ClientApp,
  params: Record<string, string> = {},
): Promise<StartedAuthorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: app.redirectUri,
    scope: 'openid profile email roles',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...params,
  });
  await page.goto(url.href);
  return { verifier, state };
}

/** Clicks Allow when the consent page shows (it does not for a grant already given). */
export async function consentIfAsked(page: Page) {
  await page.waitForLoadState();
  if (await page.getByRole('button', { name: 'Allow' }).count()) {
    await page.getByRole('button', { name: 'Allow' }).click();
  }
}

/** Waits for the browser to land on the client's redirect URI and redeems the code there. */
export async function finishAtClient(
  page: Page,
  config: oidc.Configuration,
  app: ClientApp,
  started: StartedAuthorization,
) {
  await page.waitForURL((u) => u.href.startsWith(app.redirectUri));
  return oidc.authorizationCodeGrant(config, new URL(page.url()), {
    pkceCodeVerifier: started.verifier,
    expectedState: started.state,
  });
}

/** Clicks the page's `button` (Cancel, Deny) and answers the query the client's redirect URI gets. */
export async function leaveForClient(page: Page, app: ClientApp, button: string): Promise<Record<string, string>> {
  await page.getByRole('button', { name: button, exact: true }).click();
  await page.waitForURL((u) => u.href.startsWith(app.redirectUri));
  return Object.fromEntries(new URL(page.url()).searchParams);
}

/** Fills the login form the browser shows and sends it. */
export async function enterPassword(page: Page, login: string, password: string) {
  await page.fill('#login', login);
  await page.fill('#password', password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/**
 * The flow through the pages up to the client's redirect URI (login, then Allow when asked),
 * leaving the code in `callback` unredeemed.
 */
export async function codeThroughPages(page: Page, config: oidc.Configuration, s: SignIn) {
  const started = await startAuthorization(page, config, s.app, { ...(s.scope ? { scope: s.scope } : {}), ...s.extra });
  await enterPassword(page, s.login, s.password);
  await consentIfAsked(page);
  await page.waitForURL((u) => u.href.startsWith(s.app.redirectUri));
  return { callback: new URL(page.url()), ...started };
}

/** Runs the authorization code flow with PKCE through the pages; returns the client's tokens. */
export async function signInThroughPages(page: Page, config: oidc.Configuration, s: SignIn) {
  const started = await startAuthorization(page, config, s.app, { ...(s.scope ? { scope: s.scope } : {}), ...s.extra });
  const { verifier, state } = started;
  if (page.url().includes('/interaction/') && (await page.locator('#password').count())) {
    if (s.screenshots) await screenshot(page, `${s.screenshots}-login`);
    await enterPassword(page, s.login, s.password);
    await page.waitForLoadState();
  }
  if (page.url().includes('/interaction/') && (await page.getByRole('button', { name: 'Allow' }).count())) {
    if (s.screenshots) await screenshot(page, `${s.screenshots}-consent`);
    if (s.consent === false) return { page, verifier, state };
    await page.getByRole('button', { name: 'Allow' }).click();
  }
  return { page, verifier, state, tokens: await finishAtClient(page, config, s.app, started) };
}
