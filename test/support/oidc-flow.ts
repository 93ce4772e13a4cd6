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

/** Runs the authorization code flow with PKCE through the pages; returns the client's tokens. */
export async function signInThroughPages(page: Page, config: oidc.Configuration, s: SignIn) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: s.app.redirectUri,
    scope: s.scope ?? 'openid profile email roles',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...s.extra,
  });
  await page.goto(url.href);
  if (page.url().includes('/interaction/') && (await page.locator('#password').count())) {
    if (s.screenshots) await screenshot(page, `${s.screenshots}-login`);
    await page.fill('#login', s.login);
    await page.fill('#password', s.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForLoadState();
  }
  if (page.url().includes('/interaction/') && (await page.getByRole('button', { name: 'Allow' }).count())) {
    if (s.screenshots) await screenshot(page, `${s.screenshots}-consent`);
    if (s.consent === false) return { page, verifier, state };
    await page.getByRole('button', { name: 'Allow' }).click();
  }
  await page.waitForURL((u) => u.href.startsWith(s.app.redirectUri));
  const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), {
    pkceCodeVerifier: verifier,
    expectedState: state,
  });
  return { page, verifier, state, tokens };
}
