import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import { freshPagePerTest } from '../support/browser.ts';
import { type BrowserSuite, browserSuitePerFile, createUser } from '../support/browser-suite.ts';
import { consentIfAsked, enterPassword, relyingParty } from '../support/oidc-flow.ts';

/**
 * A single-page app built on oidc-client-ts 3.5, the library's own browser bundle on a page of
 * its own origin, as the README's recipe writes it: sign-in with loadUserInfo (the profile from
 * /me), an API token with `resource` (the profile from the ID token), and sign-out with
 * revokeTokensOnSignout, which must revoke the tokens and still reach /session/end.
 */
const API = 'https://api.example.test/spa-notes';
const PASSWORD = 'a long and unusual passphrase';
const BUNDLE = join(
  import.meta.dirname,
  '..',
  '..',
  'node_modules',
  'oidc-client-ts',
  'dist',
  'browser',
  'oidc-client-ts.js',
);

// Each page builds its UserManager from the settings the test left in sessionStorage; the
// callback page finishes the sign-in and leaves the user (or the failure) on window.
const SPA_PAGE = `<!doctype html><title>spa</title><script src="/oidc-client-ts.js"></script><script>
  const settings = JSON.parse(sessionStorage.getItem('settings') || 'null');
  window.manager = settings && new oidc.UserManager(settings);
  if (location.pathname === '/callback') {
    manager.signinRedirectCallback().then((u) => { window.user = u; }, (e) => { window.failure = String(e); });
  }
</script><p>the spa</p>`;

let suite: BrowserSuite;
let page: Page;
let spa: Server;
let origin: string;
let clientId: string;

browserSuitePerFile((s) => {
  suite = s;
});
freshPagePerTest(
  () => suite.browser,
  (_context, p) => {
    page = p;
  },
);

beforeAll(async () => {
  const bundle = await readFile(BUNDLE);
  spa = createServer((req, res) => {
    if (req.url === '/oidc-client-ts.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else res.writeHead(200, { 'content-type': 'text/html' }).end(SPA_PAGE);
  });
  await new Promise<void>((resolve) => spa.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(spa.address() as AddressInfo).port}`;
  const { tessera } = suite;
  (await tessera.cli(['roles', 'create', 'reader'])).json();
  (await tessera.cli(['apis', 'create', '--audience', API, '--scope', 'notes:read'])).json();
  await createUser(tessera, { username: 'grace', password: PASSWORD, roles: ['reader'] });
  const created = await tessera.cli([
    'clients',
    'create',
    '--name',
    'Notes SPA',
    '--type',
    'spa',
    '--redirect-uri',
    `${origin}/callback`,
    '--post-logout-redirect-uri',
    `${origin}/signed-out`,
    '--api',
    API,
  ]);
  clientId = created.json<{ client_id: string }>().client_id;
});

afterAll(async () => {
  await new Promise((resolve) => spa?.close(resolve));
});

/** Signs grace in through the SPA with these UserManager settings; answers oidc-client-ts's User. */
async function signIn(settings: Record<string, unknown>) {
  await page.goto(`${origin}/`);
  const all = {
    authority: suite.tessera.issuer,
    client_id: clientId,
    redirect_uri: `${origin}/callback`,
    post_logout_redirect_uri: `${origin}/signed-out`,
    scope: 'openid profile email roles',
    ...settings,
  };
  await page.evaluate((s) => {
    sessionStorage.setItem('settings', JSON.stringify(s));
    const { oidc } = window as unknown as {
      oidc: { UserManager: new (settings: unknown) => { signinRedirect(): Promise<void> } };
    };
    void new oidc.UserManager(s).signinRedirect();
  }, all);
  await enterPassword(page, 'grace', PASSWORD);
  await consentIfAsked(page);
  await page.waitForURL((u) => u.href.startsWith(`${origin}/callback`));
  await page.waitForFunction(() => 'user' in window || 'failure' in window);
  const { user, failure } = await page.evaluate(() => {
    const w = window as unknown as { user?: unknown; failure?: string };
    return { user: JSON.parse(JSON.stringify(w.user ?? null)), failure: w.failure };
  });
  expect(failure).toBeUndefined();
  return user as { access_token: string; refresh_token?: string; profile: Record<string, unknown> };
}

describe('oidc-client-ts in the browser', () => {
  it('signs in with loadUserInfo: the profile comes from /me', async () => {
    const user = await signIn({ loadUserInfo: true });
    expect(user.profile).toMatchObject({
      preferred_username: 'grace',
      email: 'grace@example.test',
      roles: ['reader'],
    });
  });

  it('gets a token for an API with `resource`, and the profile from the ID token', async () => {
    const user = await signIn({ resource: API, scope: 'openid profile email roles notes:read' });
    expect(decodeJwt(user.access_token)).toMatchObject({ aud: API, scope: expect.stringContaining('notes:read') });
    expect(user.profile).toMatchObject({ preferred_username: 'grace', roles: ['reader'] });
  });

  it('signs out with revokeTokensOnSignout: the tokens are revoked and the person reaches /session/end', async () => {
    const user = await signIn({ loadUserInfo: true, revokeTokensOnSignout: true });
    expect(user.refresh_token).toBeTruthy();
    await page.evaluate(() => {
      const w = window as unknown as { manager: { signoutRedirect(): Promise<void> }; failure?: string };
      w.manager.signoutRedirect().catch((e: unknown) => {
        w.failure = String(e);
      });
    });
    await page.waitForURL((u) => u.pathname.startsWith('/session/end'));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.href.startsWith(`${origin}/signed-out`));
    const config = await relyingParty(suite.tessera.issuer, clientId);
    await expect(oidc.refreshTokenGrant(config, user.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });
});
