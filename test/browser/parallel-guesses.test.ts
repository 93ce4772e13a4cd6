import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { enrolTotp, totpCode } from '../support/account.ts';
import { launchBrowser } from '../support/browser.ts';
import { csrfOf, newAddress, postForm } from '../support/form-posts.ts';
import { type ClientApp, relyingParty, startAuthorization, startClientApp } from '../support/oidc-flow.ts';
import { auditEvents, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Guesses fired all at once: every attempt is counted before its password or code is checked, so
 * however many arrive together, no more than the limit are checked (5 passwords per account and
 * address, 5 TOTP codes per account, 5 current passwords on /account) and the rest get 429 with
 * Retry-After; the right secret sent among them or after them gets no further. The same on the
 * database store and on Redis.
 */
// Starting Tessera and Chromium, and bursts of argon2 checks, take long on a busy machine.
jest.setTimeout(240_000);
const PASSWORD = 'amber lanterns drift past nine bridges';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BURST = 120;

let browser: Browser;
let app: ClientApp;

beforeAll(async () => {
  [browser, app] = await Promise.all([launchBrowser(), startClientApp()]);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe.each([
  { store: 'database', env: {} as Record<string, string> },
  { store: 'Redis', env: { REDIS_URL } },
])('on the $store store', ({ env }) => {
  let tessera: RunningTessera;
  let config: oidc.Configuration;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    tessera = await startTessera({ TRUST_PROXY: 'true', ...env });
    const spa = (
      await tessera.cli(['clients', 'create', '--name', 'Ledger', '--type', 'spa', '--redirect-uri', app.redirectUri])
    ).json<{ client_id: string }>();
    config = await relyingParty(tessera.issuer, spa.client_id);
  });

  afterAll(async () => {
    // Redis stayed up all along: every count above was in the store under test.
    expect(tessera.logs()).not.toContain('Redis is unreachable');
    await Promise.all(contexts.map((c) => c.close()));
    await tessera?.dispose();
  });

  /** A browser of its own, every request of it from `address`. */
  async function browserAt(address: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': address } });
    contexts.push(context);
    return { context, page: await context.newPage() };
  }

  async function createUser(name: string): Promise<string> {
    const login = `${name}-${Math.random().toString(36).slice(2, 8)}`;
    await tessera.cli(
      ['users', 'create', '--email', `${login}@example.test`, '--username', login, '--password-stdin'],
      PASSWORD,
    );
    return login;
  }

  async function signInPage(page: Page, login: string) {
    await page.fill('#login', login);
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  }

  const statusesOf = (responses: { status(): number }[]) => responses.map((r) => r.status());

  it(`checks at most 5 of ${BURST} wrong passwords sent at once from one address`, async () => {
    const login = await createUser('burst');
    const address = newAddress();
    const { context, page } = await browserAt(address);
    await startAuthorization(page, config, app);
    const uid = new URL(page.url()).pathname.split('/')[2];
    const url = new URL(`/interaction/${uid}/login`, tessera.issuer).href;
    const csrf = await csrfOf(page);

    const responses = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        postForm(context, url, { csrf, login, password: `wrong guess ${i}` }, address),
      ),
    );
    const statuses = statusesOf(responses);
    const checked = statuses.filter((s) => s !== 429);
    expect(checked.length).toBeGreaterThanOrEqual(1);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(new Set(checked)).toEqual(new Set([401]));
    for (const refused of responses.filter((r) => r.status() === 429)) {
      expect(Number(refused.headers()['retry-after'])).toBeGreaterThan(0);
      expect(await refused.text()).toMatch(/Too many attempts\. Try again in \d+ minutes?\./);
    }
    // The server checked only as many as it answered 401: one failed login each.
    const failed = auditEvents(tessera.logs()).filter((e) => e.type === 'login.failed' && e.ip === address);
    expect(failed).toHaveLength(checked.length);

    // The right password, now, is not checked either.
    const right = await postForm(context, url, { csrf, login, password: PASSWORD }, address);
    expect(right.status()).toBe(429);
  });

  it(`checks at most 5 of ${BURST} TOTP codes sent at once, the right one among them`, async () => {
    const login = await createUser('totp');
    const owner = await browserAt(newAddress());
    await owner.page.goto(new URL('/account/sign-in', tessera.issuer).href);
    await signInPage(owner.page, login);
    await owner.page.waitForURL((u) => u.pathname === '/account');
    const { secret } = await enrolTotp(owner.page, PASSWORD);

    const address = newAddress();
    const { context, page } = await browserAt(address);
    await startAuthorization(page, config, app, { scope: 'openid' });
    await signInPage(page, login);
    await page.waitForURL((u) => u.pathname.endsWith('/mfa'));
    const url = page.url();
    const csrf = await csrfOf(page);

    const valid = new Set(await Promise.all([-1, 0, 1].map((step) => totpCode(secret, step))));
    const wrong = Array.from({ length: BURST * 2 }, (_, i) => String(100000 + i * 3571).slice(0, 6))
      .filter((c) => !valid.has(c))
      .slice(0, BURST);
    const right = await totpCode(secret, 1);
    const codes = [...wrong.slice(0, BURST / 2), right, ...wrong.slice(BURST / 2)];
    const responses = await Promise.all(codes.map((code) => postForm(context, url, { csrf, code }, address)));
    const statuses = statusesOf(responses);
    const checked = statuses.filter((s) => s !== 429);
    expect(checked.length).toBeGreaterThanOrEqual(1);
    expect(checked.length).toBeLessThanOrEqual(5);
    for (const refused of responses.filter((r) => r.status() === 429)) {
      expect(Number(refused.headers()['retry-after'])).toBeGreaterThan(0);
    }
    // The right code got through only if it was one of those 5; otherwise it was refused unchecked.
    const rightStatus = statuses[BURST / 2];
    expect([303, 429]).toContain(rightStatus);
    const failed = auditEvents(tessera.logs()).filter((e) => e.type === 'mfa.failed' && e.ip === address);
    expect(failed).toHaveLength(checked.length - (rightStatus === 303 ? 1 : 0));

    // Once the limit is spent, the right code is refused unchecked, in a new sign-in as well.
    const again = await browserAt(address);
    await startAuthorization(again.page, config, app, { scope: 'openid' });
    await signInPage(again.page, login);
    await again.page.waitForURL((u) => u.pathname.endsWith('/mfa'));
    const late = await postForm(
      again.context,
      again.page.url(),
      { csrf: await csrfOf(again.page), code: await totpCode(secret, 1) },
      address,
    );
    expect(late.status()).toBe(429);
    expect(await late.text()).toMatch(/Too many attempts/);
  });

  it(`checks at most 5 of ${BURST} wrong current passwords sent at once on /account`, async () => {
    const login = await createUser('account');
    const address = newAddress();
    const { context, page } = await browserAt(address);
    await page.goto(new URL('/account/sign-in', tessera.issuer).href);
    await signInPage(page, login);
    await page.waitForURL((u) => u.pathname === '/account');
    const csrf = await csrfOf(page);
    const url = new URL('/account/password', tessera.issuer).href;
    const newPassword = 'seven copper kites over the bay';

    const responses = await Promise.all(
      Array.from({ length: BURST }, (_, i) =>
        postForm(context, url, { csrf, current_password: `not it ${i}`, password: newPassword }, address),
      ),
    );
    const statuses = statusesOf(responses);
    const checked = statuses.filter((s) => s !== 429);
    expect(checked.length).toBeGreaterThanOrEqual(1);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(new Set(checked)).toEqual(new Set([400]));
    for (const refused of responses.filter((r) => r.status() === 429)) {
      expect(Number(refused.headers()['retry-after'])).toBeGreaterThan(0);
      expect(await refused.text()).toMatch(/Too many attempts/);
    }
    const failed = auditEvents(tessera.logs()).filter((e) => e.type === 'password.check_failed' && e.ip === address);
    expect(failed).toHaveLength(checked.length);

    const right = await postForm(context, url, { csrf, current_password: PASSWORD, password: newPassword }, address);
    expect(right.status()).toBe(429);
  });
});
