import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { type FakeGitHub, type GitHubUser, githubEnv, startFakeGitHub } from '../fixtures/fake-github.ts';
import { totpCode } from '../support/account.ts';
import { browserSuitePerFile } from '../support/browser-suite.ts';
import {
  type ClientApp,
  consentIfAsked,
  finishAtClient,
  relyingParty,
  startAuthorization,
} from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * An account that signs in with GitHub only has no password to type before a factor change: a
 * GitHub sign-in of its own stands for it. A copy of its session cookies reaching a client that
 * requires MFA is sent back to sign in (with GitHub), not to setup; the owner signing in with
 * GitHub again is taken through setup, and on /account setup follows a sign-in from just now.
 */
const LIN: GitHubUser = {
  id: 4242,
  login: 'lin-hub',
  name: 'Lin',
  emails: [{ email: 'lin@example.test', primary: true, verified: true }],
};

let tessera: RunningTessera;
let github: FakeGitHub;
let browser: Browser;
let app: ClientApp;
let strict: oidc.Configuration;

beforeAll(async () => {
  github = await startFakeGitHub();
});

browserSuitePerFile(
  (suite) => {
    ({ tessera, browser, app } = suite);
  },
  () => githubEnv(github),
);

beforeAll(async () => {
  const client = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Payroll',
      '--type',
      'spa',
      '--redirect-uri',
      app.redirectUri,
      '--require-mfa',
    ])
  ).json<{ client_id: string }>();
  strict = await relyingParty(tessera.issuer, client.client_id);
  github.signIn(LIN);
});

afterAll(async () => {
  await github?.close();
});

/** From a login page, through GitHub's authorize page, back to Tessera. */
async function continueWithGitHub(page: Page) {
  await page.getByRole('button', { name: 'Continue with GitHub' }).click();
  await page.waitForURL((u) => u.href.startsWith(github.baseUrl));
  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL((u) => !u.href.startsWith(github.baseUrl));
}

let secret = '';

/** /account for the GitHub-only account, signed in just now with GitHub (and a code, once enrolled). */
async function openAccountWithGitHub(): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(new URL('/account/sign-in', tessera.issuer).href);
  await continueWithGitHub(page);
  if (secret) {
    await page.fill('#code', await totpCode(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
  }
  await page.waitForURL((u) => u.pathname === '/account');
  expect(await page.textContent('h1')).toBe('Your account');
  return page;
}

describe('an account that signs in with GitHub only', () => {
  it('sends a copy of its session to sign in again at a client that requires MFA; GitHub then leads to setup', async () => {
    const owner = await openAccountWithGitHub();
    const thief = await (await browser.newContext()).newPage();
    await thief.context().addCookies(await owner.context().cookies());

    await startAuthorization(thief, strict, app, { scope: 'openid' });
    expect(await thief.textContent('h1')).toBe('Sign in');
    expect(await thief.getByRole('status').textContent()).toContain('Sign in again to set it up.');
    expect(await thief.locator('#totp-secret').count()).toBe(0);

    const started = await startAuthorization(owner, strict, app, { scope: 'openid' });
    expect(await owner.textContent('h1')).toBe('Sign in');
    await continueWithGitHub(owner);
    expect(await owner.textContent('h1')).toBe('Set up two-step verification');
    secret = (await owner.textContent('#totp-secret'))?.trim() ?? '';
    await owner.fill('#code', await totpCode(secret));
    await owner.getByRole('button', { name: 'Turn on' }).click();
    await owner.getByRole('button', { name: 'Continue' }).click();
    await consentIfAsked(owner);
    expect((await finishAtClient(owner, strict, app, started)).claims()).toMatchObject({ amr: ['fed', 'otp'] });
    await thief.context().close();
    await owner.context().close();
  });

  it('changes factors on /account after a GitHub sign-in from just now, with no password field', async () => {
    const page = await openAccountWithGitHub();
    expect(await page.locator('#mfa-fresh-sign-in').textContent()).toContain('sign in again with GitHub');
    expect(await page.locator('#mfa_codes_password').count()).toBe(0);
    await page.getByRole('button', { name: 'New recovery codes' }).click();
    expect(await page.textContent('h1')).toBe('Your recovery codes');
    await page.context().close();
  });
});
