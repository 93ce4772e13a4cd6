import { beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { openAccount, totpCode } from '../support/account.ts';
import { screenshot } from '../support/browser.ts';
import { browserSuitePerFile, createClient, createUser } from '../support/browser-suite.ts';
import { csrfOf, postForm } from '../support/form-posts.ts';
import { type ClientApp, consentIfAsked, finishAtClient, startAuthorization } from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * Someone holding only a copy of a person's session cookies cannot add a second factor: a client
 * that requires MFA sends them to the password first, and /account asks for the password before
 * setup. The owner, having just typed the password, goes through setup as before.
 */
const PASSWORD = 'amber foxes cross the frozen river';
const ACR_MFA = 'urn:tessera:acr:mfa';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let strict: oidc.Configuration;

browserSuitePerFile(
  (suite) => {
    ({ tessera, browser, app } = suite);
  },
  // Behind a proxy, so a thief's guesses can come from many addresses (X-Forwarded-For).
  { TRUST_PROXY: 'true' },
);

beforeAll(async () => {
  strict = (await createClient({ tessera, app }, 'Payroll', 'spa', '--require-mfa')).config;
  for (const username of ['vera', 'otto', 'ines']) await createUser(tessera, { username, password: PASSWORD });
});

/** A fresh browser holding nothing but copies of `victim`'s cookies. */
async function withStolenCookies(victim: Page): Promise<Page> {
  const thief = await browser.newContext();
  await thief.addCookies(await victim.context().cookies());
  return thief.newPage();
}

describe('a stolen session cookie', () => {
  it('is sent to the password, not to setup, by a client that requires MFA', async () => {
    const victim = await openAccount(browser, tessera.issuer, 'vera', PASSWORD);
    const thief = await withStolenCookies(victim);
    // The copy is a real session: the account page opens with it.
    await thief.goto(new URL('/account', tessera.issuer).href);
    expect(await thief.textContent('h1')).toBe('Your account');

    await startAuthorization(thief, strict, app, { scope: 'openid' });
    expect(await thief.textContent('h1')).toBe('Sign in');
    expect(await thief.getByRole('status').textContent()).toContain('Sign in again to set it up.');
    expect(await thief.locator('#totp-secret').count()).toBe(0);
    await screenshot(thief, 'stolen-cookie-step-up');
    // Going straight to the second step shows no key either.
    const interaction = new URL(thief.url()).pathname.replace(/\/login$/, '');
    await thief.goto(new URL(`${interaction}/mfa`, tessera.issuer).href);
    expect(await thief.locator('#totp-secret').count()).toBe(0);
    expect(await thief.getByRole('alert').textContent()).toContain('Sign in with your password first.');

    // The owner, who knows the password, is taken through setup and gets acr mfa.
    const started = await startAuthorization(victim, strict, app, { scope: 'openid' });
    expect(await victim.textContent('h1')).toBe('Sign in');
    await victim.fill('#password', PASSWORD);
    await victim.getByRole('button', { name: 'Sign in', exact: true }).click();
    expect(await victim.textContent('h1')).toBe('Set up two-step verification');
    const secret = (await victim.textContent('#totp-secret'))?.trim() ?? '';
    await victim.fill('#code', await totpCode(secret));
    await victim.getByRole('button', { name: 'Turn on' }).click();
    await victim.getByRole('button', { name: 'Continue' }).click();
    await consentIfAsked(victim);
    expect((await finishAtClient(victim, strict, app, started)).claims()).toMatchObject({
      amr: ['pwd', 'otp'],
      acr: ACR_MFA,
    });
    await thief.context().close();
    await victim.context().close();
  });

  it("cannot start setup on /account without the password, nor see or finish the owner's", async () => {
    const victim = await openAccount(browser, tessera.issuer, 'otto', PASSWORD);
    const thief = await withStolenCookies(victim);
    await thief.goto(new URL('/account', tessera.issuer).href);
    for (const password of ['', 'a guess at the password']) {
      await thief.fill('#mfa_start_password', password);
      const answer = thief.waitForResponse((r) => new URL(r.url()).pathname === '/account/mfa/start');
      await thief.getByRole('button', { name: 'Set up two-step verification' }).click();
      expect((await answer).status()).toBe(400);
      expect(await thief.textContent('#mfa-start-error')).toContain('Your current password is not right.');
    }
    await thief.goto(new URL('/account/mfa/setup', tessera.issuer).href);
    expect(new URL(thief.url()).pathname).toBe('/account');
    expect(await thief.locator('#totp-secret').count()).toBe(0);
    expect(await thief.textContent('#mfa-status')).toMatch(/^Off/);

    // The owner types the password and starts setup.
    await victim.reload();
    await victim.fill('#mfa_start_password', PASSWORD);
    await victim.getByRole('button', { name: 'Set up two-step verification' }).click();
    await victim.waitForURL((u) => u.pathname === '/account/mfa/setup');
    const secret = (await victim.textContent('#totp-secret'))?.trim() ?? '';

    // The copy, taken before, neither sees that setup's key nor confirms it, even with a right code.
    await thief.goto(new URL('/account/mfa/setup', tessera.issuer).href);
    expect(new URL(thief.url()).pathname).toBe('/account');
    expect(await thief.locator('#totp-secret').count()).toBe(0);
    const confirm = await postForm(thief.context(), new URL('/account/mfa/confirm', tessera.issuer).href, {
      csrf: await csrfOf(thief),
      code: await totpCode(secret),
    });
    expect(confirm.status()).toBe(303);
    expect(confirm.headers().location).toBe('/account');
    await thief.reload();
    expect(await thief.textContent('#mfa-status')).toMatch(/^Off/);

    // The owner finishes it.
    await victim.fill('#code', await totpCode(secret));
    await victim.getByRole('button', { name: 'Turn on' }).click();
    expect(await victim.textContent('h1')).toBe('Your recovery codes');
    await thief.context().close();
    await victim.context().close();
  });

  it('meets the sign-in limits when guessing the password from many addresses at once', async () => {
    const victim = await openAccount(browser, tessera.issuer, 'ines', PASSWORD);
    const thief = await withStolenCookies(victim);
    await thief.goto(new URL('/account', tessera.issuer).href);
    const csrf = await csrfOf(thief);
    const guesses = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        postForm(
          thief.context(),
          new URL('/account/mfa/start', tessera.issuer).href,
          { csrf, password: `guess number ${i}` },
          `198.51.100.${i + 1}`,
        ),
      ),
    );
    const statuses = guesses.map((res) => res.status());
    // The copies include the mark of a browser that signed in to the account before, so they get
    // that browser's own 5 guesses in 15 minutes, as at the sign-in form, wherever they come from.
    expect(statuses.filter((s) => s === 400)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(115);
    await thief.context().close();
    await victim.context().close();
  });
});
