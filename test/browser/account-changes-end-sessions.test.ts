import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { enrolTotp, openAccount, recoveryCodesShown, totpCode } from '../support/account.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { type ClientApp, relyingParty, signInThroughPages, startClientApp } from '../support/oidc-flow.ts';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * A change to how an account signs in ends every other session and grant: after a new password or
 * a change of two-step verification, another browser is signed out and its app's refresh token is
 * refused, while the browser that made the change stays signed in with its own app access.
 * "Sign out everywhere" ends all of them, this browser's too.
 */
const PASSWORD = 'quiet lighthouses count the waves';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let config: oidc.Configuration;

beforeAll(async () => {
  [tessera, browser, app] = await Promise.all([startTessera(), launchBrowser(), startClientApp()]);
  const web = (
    await tessera.cli(['clients', 'create', '--name', 'Tide Log', '--type', 'web', '--redirect-uri', app.redirectUri])
  ).json<{ client_id: string; client_secret: string }>();
  config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
  for (const username of ['ines', 'joao', 'kim', 'lars']) {
    const email = `${username}@example.test`;
    (
      await tessera.cli(['users', 'create', '--email', email, '--username', username, '--password-stdin'], PASSWORD)
    ).json();
  }
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await tessera?.dispose();
});

interface Browsing {
  page: Page;
  refreshToken: string;
}

/** A browser signed in to /account and, in the same session, to the app with a refresh token. */
async function signedInBrowser(login: string, password = PASSWORD): Promise<Browsing> {
  const page = await openAccount(browser, tessera.issuer, login, password);
  const { tokens } = await signInThroughPages(page, config, {
    app,
    login,
    password,
    scope: 'openid offline_access',
    extra: { prompt: 'consent' },
  });
  await page.goto(new URL('/account', tessera.issuer).href);
  return { page, refreshToken: tokens?.refresh_token ?? '' };
}

async function accountHeading(page: Page): Promise<string | null> {
  await page.goto(new URL('/account', tessera.issuer).href);
  return page.textContent('h1');
}

async function expectSignedOut(other: Browsing) {
  expect(await accountHeading(other.page)).toBe('Sign in to manage your account');
  await expect(oidc.refreshTokenGrant(config, other.refreshToken)).rejects.toMatchObject({ error: 'invalid_grant' });
}

async function expectStillSignedIn(current: Browsing) {
  expect(await accountHeading(current.page)).toBe('Your account');
  const refreshed = await oidc.refreshTokenGrant(config, current.refreshToken);
  expect(refreshed.access_token).toEqual(expect.any(String));
  current.refreshToken = refreshed.refresh_token ?? '';
}

describe('changing how an account signs in', () => {
  it('signs out every other session after a password change, and keeps this one', async () => {
    const [current, other, third] = await Promise.all([
      signedInBrowser('ines'),
      signedInBrowser('ines'),
      signedInBrowser('ines'),
    ]);
    expect(await current.page.locator('li[data-session]').count()).toBe(3);
    const newPassword = 'another quiet lighthouse for ines';
    await current.page.fill('#current_password', PASSWORD);
    await current.page.fill('#new_password', newPassword);
    await current.page.getByRole('button', { name: 'Change password' }).click();
    expect(await current.page.getByRole('status').textContent()).toBe(
      'Your password was changed. Every other session was signed out.',
    );
    expect(await current.page.locator('li[data-session]').count()).toBe(1);
    await screenshot(current.page, 'password-changed-others-signed-out');
    await expectSignedOut(other);
    await expectSignedOut(third);
    await expectStillSignedIn(current);
    for (const b of [current, other, third]) await b.page.context().close();
  });

  it('signs out every other session when two-step verification is turned on, renewed or off', async () => {
    const current = await signedInBrowser('joao');
    let other = await signedInBrowser('joao');
    const { secret, codes } = await enrolTotp(current.page, PASSWORD);
    await expectSignedOut(other);
    await expectStillSignedIn(current);
    await other.page.context().close();

    // Signing in elsewhere now takes a second step: a recovery code each time (a TOTP step counts once).
    other = await signedInWithCode('joao', codes[0] ?? '');
    await current.page.fill('#mfa_codes_password', PASSWORD);
    await current.page.getByRole('button', { name: 'New recovery codes' }).click();
    const renewed = await recoveryCodesShown(current.page);
    expect(renewed).toHaveLength(10);
    await expectSignedOut(other);
    await expectStillSignedIn(current);
    await other.page.context().close();

    other = await signedInWithCode('joao', renewed[0] ?? '');
    await current.page.fill('#mfa_off_password', PASSWORD);
    await current.page.fill('#mfa_off_code', await totpCode(secret, 1));
    await current.page.getByRole('button', { name: 'Turn off' }).click();
    expect(await current.page.getByRole('status').textContent()).toBe(
      'Two-step verification was turned off. Every other session was signed out.',
    );
    await expectSignedOut(other);
    await expectStillSignedIn(current);
    await other.page.context().close();
    await current.page.context().close();
  });

  it('offers "Sign out everywhere", which ends every session and app access, this one too', async () => {
    const [current, other] = await Promise.all([signedInBrowser('kim'), signedInBrowser('kim')]);
    await current.page.getByRole('button', { name: 'Sign out everywhere' }).click();
    expect(await current.page.textContent('h1')).toBe('You are signed out everywhere');
    await screenshot(current.page, 'signed-out-everywhere');
    await expectSignedOut(current);
    await expectSignedOut(other);
    for (const b of [current, other]) await b.page.context().close();
  });

  it('audits each ending with what caused it', () => {
    const logs = tessera.logs();
    for (const after of ['password_changed', 'mfa_enabled', 'recovery_codes_regenerated', 'mfa_disabled']) {
      expect(logs).toMatch(new RegExp(`"type":"sessions.others_ended".*"after":"${after}"`));
    }
    expect(logs).toContain('audit sessions.all_ended');
    expect(logs).not.toMatch(/"status":5\d\d|request failed/);
  });
});

/** Another browser for an account with a factor: /account with the password and `code`, then the app. */
async function signedInWithCode(login: string, code: string): Promise<Browsing> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(new URL('/account/sign-in', tessera.issuer).href);
  await page.fill('#login', login);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.fill('#code', code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL((u) => u.pathname === '/account');
  const { tokens } = await signInThroughPages(page, config, {
    app,
    login,
    password: PASSWORD,
    scope: 'openid offline_access',
    extra: { prompt: 'consent' },
  });
  return { page, refreshToken: tokens?.refresh_token ?? '' };
}
