import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { csrfOf, newAddress, postForm } from '../support/form-posts.ts';
import {
  type ClientApp,
  relyingParty,
  signInThroughPages,
  startAuthorization,
  startClientApp,
} from '../support/oidc-flow.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { auditEvents, eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Per-account login limits and who they can lock out. They count the account a login resolves to
 * (its email and its username are one count); guesses spread over many addresses meet the
 * account's limit (30 per 15 minutes), but not in a browser that signed in to the account before
 * (a known device, counted on its own), and a password reset clears them.
 */
// Starting Tessera and Chromium, and bursts of argon2 checks, take long on a busy machine.
jest.setTimeout(240_000);
const PASSWORD = 'quiet harbours keep their lamps lit';

let tessera: RunningTessera;
let smtp: TestSmtp;
let browser: Browser;
let app: ClientApp;
let config: oidc.Configuration;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [smtp, browser, app] = await Promise.all([startTestSmtp(), launchBrowser(), startClientApp()]);
  // Behind a proxy, so guesses can come from many addresses (X-Forwarded-For).
  tessera = await startTessera({ SMTP_URL: smtp.url, MAIL_FROM: 'Tessera <auth@tessera.test>', TRUST_PROXY: 'true' });
  const spa = (
    await tessera.cli(['clients', 'create', '--name', 'Atlas', '--type', 'spa', '--redirect-uri', app.redirectUri])
  ).json<{ client_id: string }>();
  config = await relyingParty(tessera.issuer, spa.client_id);
});

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await app?.close();
  await tessera?.dispose();
  await smtp?.close();
});

/** A browser of its own, every request of it from `address`. */
async function browserAt(address = newAddress()): Promise<{ context: BrowserContext; page: Page; address: string }> {
  const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': address } });
  contexts.push(context);
  return { context, page: await context.newPage(), address };
}

async function createUser(name: string): Promise<{ email: string; username: string }> {
  const username = `${name}-${Math.random().toString(36).slice(2, 8)}`;
  const email = `${username}@example.test`;
  await tessera.cli(['users', 'create', '--email', email, '--username', username, '--password-stdin'], PASSWORD);
  return { email, username };
}

/** The login form of a new sign-in in `page`: where it posts, and its CSRF token. */
async function loginForm(page: Page) {
  await startAuthorization(page, config, app, { scope: 'openid', prompt: 'login' });
  const uid = new URL(page.url()).pathname.split('/')[2];
  return { url: new URL(`/interaction/${uid}/login`, tessera.issuer).href, csrf: await csrfOf(page) };
}

/** Types `login` and `password` into the sign-in page and says what status the answer had. */
async function signInStatus(page: Page, login: string, password = PASSWORD): Promise<number> {
  await startAuthorization(page, config, app, { scope: 'openid', prompt: 'login' });
  await page.fill('#login', login);
  await page.fill('#password', password);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in', exact: true }).click(),
  ]);
  return response.status();
}

/** 40 wrong passwords at once, 5 from each of 8 addresses: each address stays under its own limit. */
async function guessFromEightAddresses(login: string): Promise<number[]> {
  const attacker = await browserAt();
  const { url, csrf } = await loginForm(attacker.page);
  const addresses = Array.from({ length: 8 }, () => newAddress());
  const responses = await Promise.all(
    addresses.flatMap((address) =>
      Array.from({ length: 5 }, (_, i) =>
        postForm(attacker.context, url, { csrf, login, password: `guess ${i}` }, address),
      ),
    ),
  );
  return responses.map((r) => r.status());
}

describe('the per-account limit', () => {
  it('counts the email and the username of one account as one', async () => {
    const { email, username } = await createUser('alt');
    const { context, page, address } = await browserAt();
    const { url, csrf } = await loginForm(page);
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      const login = i % 2 ? username : email.toUpperCase();
      statuses.push((await postForm(context, url, { csrf, login, password: `wrong ${i}` }, address)).status());
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    expect((await postForm(context, url, { csrf, login: username, password: PASSWORD }, address)).status()).toBe(429);
  });

  it('limits an unknown login as it does a known one', async () => {
    const { context, page, address } = await browserAt();
    const { url, csrf } = await loginForm(page);
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await postForm(context, url, { csrf, login: 'Nobody@Example.test', password: `w ${i}` }, address)).status(),
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('is met by guesses spread over many addresses at once: exactly 30 are checked', async () => {
    const { username } = await createUser('spread');
    const statuses = await guessFromEightAddresses(username);
    expect(statuses.filter((s) => s === 401)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    // A fresh browser with the right password meets it too.
    const fresh = await browserAt();
    expect(await signInStatus(fresh.page, username)).toBe(429);
    expect(await fresh.page.getByRole('alert').textContent()).toMatch(/Too many attempts/);
    const hit = auditEvents(tessera.logs()).filter((e) => e.type === 'rate_limit.hit' && e.ip === fresh.address);
    expect(hit.map((e) => e.details?.limit)).toEqual(['login_account']);
  });
});

describe('a browser that signed in to the account before', () => {
  it('still signs in after others used up the account limit, while a fresh browser is refused', async () => {
    const { username } = await createUser('owner');
    const owner = await browserAt();
    const first = await signInThroughPages(owner.page, config, {
      app,
      login: username,
      password: PASSWORD,
      scope: 'openid',
    });
    expect(first.tokens?.claims()?.sub).toBeTruthy();
    const device = (await owner.context.cookies()).find((c) => c.name === 'tessera.device');
    expect(device).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(device?.value).not.toContain(String(first.tokens?.claims()?.sub));

    const statuses = await guessFromEightAddresses(username);
    expect(statuses.filter((s) => s === 401)).toHaveLength(30);

    const stranger = await browserAt();
    expect(await signInStatus(stranger.page, username)).toBe(429);

    const again = await signInThroughPages(owner.page, config, {
      app,
      login: username,
      password: PASSWORD,
      scope: 'openid',
      extra: { prompt: 'login' },
    });
    expect(again.tokens?.claims()?.sub).toBe(first.tokens?.claims()?.sub);
  });

  it('counts as a known device for that account only', async () => {
    const mine = await createUser('mine');
    const theirs = await createUser('theirs');
    const owner = await browserAt();
    await signInThroughPages(owner.page, config, { app, login: mine.username, password: PASSWORD, scope: 'openid' });
    expect((await guessFromEightAddresses(theirs.username)).filter((s) => s === 429)).toHaveLength(10);
    expect(await signInStatus(owner.page, theirs.username)).toBe(429);

    // Its cookie, carried to another browser, does not make that one known for the other account either.
    const copy = await browserAt();
    await copy.context.addCookies(
      (await owner.context.cookies()).filter((c) => c.name === 'tessera.device').map((c) => ({ ...c })),
    );
    expect(await signInStatus(copy.page, theirs.username)).toBe(429);
    // A made-up cookie is no known device.
    const forged = await browserAt();
    await forged.context.addCookies([
      { name: 'tessera.device', value: `${'A'.repeat(22)}.${'B'.repeat(43)}`, url: tessera.issuer, httpOnly: true },
    ]);
    expect(await signInStatus(forged.page, theirs.username)).toBe(429);
  });

  it('has a limit of its own: 5 wrong passwords, then 429', async () => {
    const { username } = await createUser('typo');
    const owner = await browserAt();
    await signInThroughPages(owner.page, config, { app, login: username, password: PASSWORD, scope: 'openid' });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push(await signInStatus(owner.page, username, `typo ${i}`));
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });
});

describe('a password reset', () => {
  it('clears the account limit others used up', async () => {
    const { email, username } = await createUser('reset');
    expect((await guessFromEightAddresses(username)).filter((s) => s === 429)).toHaveLength(10);
    const person = await browserAt();
    expect(await signInStatus(person.page, username)).toBe(429);

    const requested = smtp.mails.length;
    await person.page.goto(new URL('/forgot-password', tessera.issuer).href);
    await person.page.fill('#email', email);
    await person.page.getByRole('button', { name: 'Send link' }).click();
    const mail = await eventually(async () => {
      const found = smtp.mails
        .slice(requested)
        .find((m) => m.to.includes(email) && m.subject === 'Reset your password');
      expect(found).toBeDefined();
      return found as NonNullable<typeof found>;
    });
    await person.page.goto(smtp.linkIn(mail, '/reset-password'));
    const newPassword = 'lanterns and harbours, quieter still';
    await person.page.fill('#password', newPassword);
    await person.page.getByRole('button', { name: 'Set password' }).click();
    expect(await person.page.textContent('main')).toContain('Your password has been changed');

    const fresh = await browserAt();
    const signedIn = await signInThroughPages(fresh.page, config, {
      app,
      login: username,
      password: newPassword,
      scope: 'openid',
    });
    expect(signedIn.tokens?.claims()?.sub).toBeTruthy();
    await screenshot(fresh.page, 'lockout-cleared-by-reset');
  });
});
