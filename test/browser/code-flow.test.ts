import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { freshPagePerTest, launchBrowser, screenshot } from '../support/browser.ts';
import {
  type ClientApp,
  enterPassword,
  leaveForClient,
  relyingParty,
  signInThroughPages,
  startAuthorization,
  startClientApp,
} from '../support/oidc-flow.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

const API = 'https://api.example.test/notes';
const PASSWORD = 'a long and unusual passphrase';

let tessera: RunningTessera;
let app: ClientApp;
let browser: Browser;
let page: Page;
let user: { id: string };
let spa: { client_id: string };
let web: { client_id: string; client_secret: string };

beforeAll(async () => {
  [tessera, browser, app] = await Promise.all([startTessera(), launchBrowser(), startClientApp()]);
  (await tessera.cli(['roles', 'create', 'editor'])).json();
  (await tessera.cli(['apis', 'create', '--audience', API, '--scope', 'notes:read'])).json();
  user = (
    await tessera.cli(
      [
        'users',
        'create',
        '--email',
        'ada@example.test',
        '--username',
        'ada',
        '--name',
        'Ada Lovelace',
        '--role',
        'editor',
        '--password-stdin',
      ],
      `${PASSWORD}\n`,
    )
  ).json();
  spa = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Notes SPA',
      '--type',
      'spa',
      '--redirect-uri',
      app.redirectUri,
      '--post-logout-redirect-uri',
      app.postLogoutUri,
      '--api',
      API,
      // No grace window: a rotated refresh token presented again is a reuse at once.
      '--refresh-grace',
      '0',
    ])
  ).json();
  web = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Notes Server',
      '--type',
      'web',
      '--redirect-uri',
      app.redirectUri,
      '--refresh-grace',
      '0',
    ])
  ).json();
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await tessera?.dispose();
});

/** offline_access is kept only when consent is prompted for (OpenID Connect Core §11). */
const signInForRefreshToken = (config: oidc.Configuration) =>
  signInThroughPages(page, config, {
    app,
    login: 'ada',
    password: PASSWORD,
    scope: 'openid offline_access',
    extra: { prompt: 'consent' },
  });

describe('authorization code with PKCE through the login and consent pages', () => {
  it('signs a spa user in and gives the client an ID token with the user and their roles', async () => {
    const config = await relyingParty(tessera.issuer, spa.client_id);
    const { tokens } = await signInThroughPages(page, config, {
      app,
      login: 'ada@example.test',
      password: PASSWORD,
      screenshots: 'code-flow',
    });
    const claims = tokens?.claims();
    expect(claims).toMatchObject({
      iss: tessera.issuer,
      aud: spa.client_id,
      sub: user.id,
      email: 'ada@example.test',
      email_verified: true,
      name: 'Ada Lovelace',
      preferred_username: 'ada',
      roles: ['editor'],
      amr: ['pwd'],
    });

    const info = await oidc.fetchUserInfo(config, tokens?.access_token ?? '', user.id);
    expect(info).toMatchObject({
      sub: user.id,
      email: 'ada@example.test',
      roles: ['editor'],
      preferred_username: 'ada',
    });
  });

  it('shows the client name on the login and consent pages, and an error next to a wrong password', async () => {
    const config = await relyingParty(tessera.issuer, spa.client_id);
    const verifier = oidc.randomPKCECodeVerifier();
    await page.goto(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: app.redirectUri,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).href,
    );
    await expect(page.getByText('Notes SPA')).toBeTruthy();
    expect(await page.textContent('main')).toContain('to continue to Notes SPA');
    // Without GITHUB_CLIENT_ID and _SECRET there is no GitHub button, nor a way around it.
    expect(await page.getByRole('button', { name: 'Continue with GitHub' }).count()).toBe(0);
    const github = await page.request.post(`${page.url().replace(/\/login$/, '')}/github`, {
      form: { csrf: (await page.getAttribute('input[name=csrf]', 'value')) ?? '' },
      maxRedirects: 0,
    });
    expect(github.status()).toBe(404);
    await page.fill('#login', 'ada');
    await page.fill('#password', 'not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Incorrect email, username or password.');
    expect(await page.inputValue('#login')).toBe('ada');
    expect(await page.inputValue('#password')).toBe('');
    await screenshot(page, 'code-flow-login-error');

    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => u.href.startsWith(app.redirectUri) || u.href.includes('/interaction/'));
    if (page.url().includes('/interaction/')) {
      expect(await page.textContent('main')).toContain('Notes SPA');
      await page.getByRole('button', { name: 'Allow' }).click();
    }
    await page.waitForURL((u) => u.href.startsWith(app.redirectUri));
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
  });

  it('lets a person cancel, which sends access_denied back to the client', async () => {
    const config = await relyingParty(tessera.issuer, spa.client_id);
    const verifier = oidc.randomPKCECodeVerifier();
    await page.goto(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: app.redirectUri,
        scope: 'openid',
        state: 'cancel-state',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).href,
    );
    // A link, or a post without the page's form token (as another site would send), cancels nothing.
    const abort = `${page.url().replace(/\/login$/, '')}/abort`;
    expect((await page.request.get(abort, { maxRedirects: 0 })).status()).toBe(405);
    const forged = await page.request.post(abort, { form: { csrf: 'guessed' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain('This form has expired');

    expect(await leaveForClient(page, app, 'Cancel and return to Notes SPA')).toMatchObject({
      error: 'access_denied',
      state: 'cancel-state',
    });
  });

  it('lets a person deny access on the consent page, which sends access_denied back to the client', async () => {
    const config = await relyingParty(tessera.issuer, spa.client_id);
    const started = await startAuthorization(page, config, app, { scope: 'openid', prompt: 'consent' });
    await enterPassword(page, 'ada', PASSWORD);
    const answer = await leaveForClient(page, app, 'Deny');
    expect(answer).toMatchObject({ error: 'access_denied', state: started.state });
    expect(answer.code).toBeUndefined();
  });

  it('gives a JWT access token for a registered API, introspectable until the grant is revoked', async () => {
    const config = await relyingParty(tessera.issuer, spa.client_id);
    const { tokens } = await signInThroughPages(page, config, {
      app,
      login: 'ada',
      password: PASSWORD,
      scope: 'openid notes:read',
      extra: { resource: API },
    });
    const at = tokens?.access_token ?? '';
    const { payload } = await jwtVerify(at, createRemoteJWKSet(new URL('/jwks', tessera.issuer)), {
      issuer: tessera.issuer,
      audience: API,
      typ: 'at+jwt',
    });
    expect(payload).toMatchObject({ sub: user.id, client_id: spa.client_id, scope: 'notes:read', roles: ['editor'] });

    const webConfig = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
    expect(await oidc.tokenIntrospection(webConfig, at)).toMatchObject({ active: true, sub: user.id, aud: API });

    // Presenting a rotated refresh token again revokes the whole grant, this JWT's included.
    const rt = tokens?.refresh_token ?? '';
    await oidc.refreshTokenGrant(config, rt);
    await expect(oidc.refreshTokenGrant(config, rt)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(webConfig, at)).active).toBe(false);
  });
});

describe('refresh tokens', () => {
  it('rotate on every use; presenting a used one revokes the grant', async () => {
    const config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
    const { tokens } = await signInForRefreshToken(config);
    const first = tokens?.refresh_token ?? '';
    expect(first).toBeTruthy();

    const second = await oidc.refreshTokenGrant(config, first);
    expect(second.refresh_token).toBeTruthy();
    expect(second.refresh_token).not.toBe(first);
    expect(second.claims()?.sub).toBe(user.id);
    const third = await oidc.refreshTokenGrant(config, second.refresh_token ?? '');

    await expect(oidc.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
    // The reuse revoked the grant: the newest token and its access token are dead too.
    await expect(oidc.refreshTokenGrant(config, third.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await oidc.tokenIntrospection(config, third.access_token)).active).toBe(false);
    // A reused refresh token is a security event: audited with whose grant it was.
    await eventually(async () => {
      const audited = tessera
        .logs()
        .split('\n')
        .filter((line) => line.includes('"type":"refresh_token.reused"'));
      expect(audited.some((line) => line.includes(`"userId":"${user.id}"`))).toBe(true);
    });
  });

  it('are introspectable while valid and inactive after revocation', async () => {
    const config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
    const { tokens } = await signInForRefreshToken(config);
    const rt = tokens?.refresh_token ?? '';
    expect(await oidc.tokenIntrospection(config, rt)).toMatchObject({
      active: true,
      sub: user.id,
      client_id: web.client_id,
    });
    expect(await oidc.tokenIntrospection(config, tokens?.access_token ?? '')).toMatchObject({ active: true });

    await oidc.tokenRevocation(config, rt);
    expect((await oidc.tokenIntrospection(config, rt)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(config, rt)).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('logout', () => {
  it('ends the session through the sign-out page and returns to the client', async () => {
    const config = await relyingParty(tessera.issuer, spa.client_id);
    const { tokens } = await signInThroughPages(page, config, {
      app,
      login: 'ada',
      password: PASSWORD,
      scope: 'openid',
    });
    await page.goto(
      oidc.buildEndSessionUrl(config, {
        id_token_hint: tokens?.id_token ?? '',
        post_logout_redirect_uri: app.postLogoutUri,
        state: 'bye',
      }).href,
    );
    expect(await page.textContent('main')).toContain('Sign out?');
    await screenshot(page, 'logout');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.href.startsWith(app.postLogoutUri));
    expect(new URL(page.url()).searchParams.get('state')).toBe('bye');

    // No session any more: a silent request now needs a login.
    const verifier = oidc.randomPKCECodeVerifier();
    await page.goto(
      oidc.buildAuthorizationUrl(config, {
        redirect_uri: app.redirectUri,
        scope: 'openid',
        prompt: 'none',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).href,
    );
    await page.waitForURL((u) => u.href.startsWith(app.redirectUri));
    expect(new URL(page.url()).searchParams.get('error')).toBe('login_required');
  });
});

describe('a restart', () => {
  it('keeps issued tokens valid and the signing keys the same', async () => {
    const config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
    const { tokens } = await signInForRefreshToken(config);
    const jwksBefore = await (await fetch(new URL('/jwks', tessera.issuer))).json();

    await tessera.restart();

    expect(await (await fetch(new URL('/jwks', tessera.issuer))).json()).toEqual(jwksBefore);
    const fresh = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
    expect((await oidc.fetchUserInfo(fresh, tokens?.access_token ?? '', user.id)).sub).toBe(user.id);
    const refreshed = await oidc.refreshTokenGrant(fresh, tokens?.refresh_token ?? '');
    expect(refreshed.claims()?.sub).toBe(user.id);
  });
});

describe('the logs', () => {
  it('never contain the password, a client secret or a token', () => {
    const logs = tessera.logs();
    expect(logs).toContain('login.succeeded');
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(web.client_secret);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
  });
});
