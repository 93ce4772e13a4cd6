import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import type * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { openAccount } from '../support/account.ts';
import { screenshot } from '../support/browser.ts';
import { browserSuitePerFile, createClient, createUser } from '../support/browser-suite.ts';
import { cookieHeader } from '../support/form-posts.ts';
import {
  type ClientApp,
  consentIfAsked,
  enterPassword,
  finishAtClient,
  startAuthorization,
} from '../support/oidc-flow.ts';
import { type VirtualAuthenticator, virtualAuthenticator } from '../support/passkeys.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';

type Passkeys = Awaited<ReturnType<VirtualAuthenticator['credentials']>>;

import { auditEvents, eventually, type RunningTessera } from '../support/tessera.ts';

/**
 * Passkeys, in Chromium with a virtual authenticator (resident keys, user verification on):
 * added on /account with the password, used without a password through a client (amr and acr in
 * the ID token), as the second factor after a password, for a client that requires MFA, removed;
 * and an answer that is replayed, or made for another sign-in, is refused.
 */
const PASSWORD = 'amber lanterns over quiet harbours';
const ACR_MFA = 'urn:tessera:acr:mfa';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let notes: oidc.Configuration;
let vault: oidc.Configuration;

let smtp: TestSmtp;

beforeAll(async () => {
  smtp = await startTestSmtp();
});
afterAll(() => smtp?.close());

browserSuitePerFile(
  (suite) => {
    ({ tessera, browser, app } = suite);
  },
  () => ({ SMTP_URL: smtp.url, MAIL_FROM: 'Tessera <auth@tessera.test>' }),
);

beforeAll(async () => {
  notes = (await createClient({ tessera, app }, 'Notes', 'spa')).config;
  vault = (await createClient({ tessera, app }, 'Vault', 'spa', '--require-mfa')).config;
});

/** A person with a password who added a passkey on /account; answers their account page and authenticator. */
async function personWithPasskey(username: string): Promise<{ id: string; account: Page; passkeys: Passkeys }> {
  const { id } = await createUser(tessera, { username, password: PASSWORD });
  const account = await openAccount(browser, tessera.issuer, username, PASSWORD);
  const laptop = await virtualAuthenticator(account);
  await account.reload();
  await account.fill('#passkey_name', 'Work laptop');
  await account.fill('#passkey_password', PASSWORD);
  await account.getByRole('button', { name: 'Add a passkey' }).click();
  await account.waitForURL((u) => u.search === '?done=passkey-added');
  return { id, account, passkeys: await laptop.credentials() };
}

/**
 * A fresh browser window (no session) whose authenticator holds copies of `passkeys`. The virtual
 * authenticator answers the login page's autofill request (conditional UI) at once, as if the
 * person picked the passkey there; unless `autofill`, the window reports no autofill support, so
 * the person signs in by clicking the button.
 */
async function windowWith(passkeys: Passkeys, autofill = false): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  if (!autofill) {
    await page.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
  }
  await (await virtualAuthenticator(page)).add(passkeys);
  return page;
}

/** Clicks a passkey button and waits for the page it leads to (the ceremony runs in between). */
async function usePasskey(page: Page, button: 'Sign in with a passkey' | 'Use a passkey') {
  const at = page.url();
  await page.getByRole('button', { name: button }).click();
  await page.waitForURL((u) => u.href !== at);
}

/**
 * Clicks "Sign in with a passkey" with the page's post to `path` held back (aborted before it
 * leaves): answers what it would have sent, and the browser's cookies to send it with.
 */
async function heldBack(page: Page, path: RegExp): Promise<{ url: string; body: string; cookie: string }> {
  let posted: { url: string; body: string } | undefined;
  await page.route(path, async (route) => {
    posted = { url: route.request().url(), body: route.request().postData() ?? '' };
    await route.abort();
  });
  const aborted = page.waitForEvent('requestfailed');
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await aborted;
  await page.unroute(path);
  if (!posted) throw new Error(`the page posted nothing to ${path}`);
  return { ...posted, cookie: await cookieHeader(page.context(), posted.url) };
}

const claimsOf = (tokens: { id_token?: string }) => decodeJwt(tokens.id_token ?? '');

describe('passkeys', () => {
  it('are added on /account with the password, listed with their dates, and audited', async () => {
    const { id: userId } = await createUser(tessera, { username: 'grace', password: PASSWORD });
    const account = await openAccount(browser, tessera.issuer, 'grace', PASSWORD);
    await virtualAuthenticator(account);
    await account.reload();
    expect(await account.locator('#passkeys-status').textContent()).toContain('None yet');

    await account.fill('#passkey_name', 'Phone');
    await account.fill('#passkey_password', 'not the password');
    await account.getByRole('button', { name: 'Add a passkey' }).click();
    const refused = account.locator('form[data-passkey="register"] [data-passkey-error]');
    await refused.waitFor();
    expect(await refused.textContent()).toBe('Your current password is not right.');

    await account.fill('#passkey_password', PASSWORD);
    await account.getByRole('button', { name: 'Add a passkey' }).click();
    await account.waitForURL((u) => u.search === '?done=passkey-added');
    expect(await account.getByRole('status').textContent()).toContain('Your passkey was added.');
    const listed = account.locator('#passkeys li');
    expect(await listed.count()).toBe(1);
    expect(await listed.textContent()).toMatch(/Phone\s*Added .+ GMT · not used yet/);
    await screenshot(account, 'passkeys-account');
    const added = auditEvents(tessera.logs()).find((e) => e.type === 'passkey.added' && e.userId === userId);
    expect(added?.details).toMatchObject({ device_type: 'singleDevice' });
    await account.context().close();
  });

  it('sign a person in without a password through a client, as multi-factor (code + PKCE)', async () => {
    const { id, account, passkeys } = await personWithPasskey('ada');
    const page = await windowWith(passkeys);
    const started = await startAuthorization(page, notes, app, { scope: 'openid' });
    expect(await page.getAttribute('#login', 'autocomplete')).toBe('username webauthn');
    await screenshot(page, 'passkeys-login');
    await usePasskey(page, 'Sign in with a passkey');
    await consentIfAsked(page);
    const tokens = await finishAtClient(page, notes, app, started);
    expect(claimsOf(tokens)).toMatchObject({ sub: id, amr: ['hwk', 'user'], acr: ACR_MFA });
    expect(auditEvents(tessera.logs()).filter((e) => e.type === 'passkey.used' && e.userId === id)).toHaveLength(1);

    // The account page now shows when it was last used.
    await account.reload();
    expect(await account.locator('#passkeys li').textContent()).toContain('last used');
    await page.context().close();
    await account.context().close();
  });

  it('satisfy a client that requires MFA with no second step, picked from the login field autofill', async () => {
    const { id, account, passkeys } = await personWithPasskey('hopper');
    await account.context().close();
    const page = await windowWith(passkeys, true);
    // Conditional UI: the passkey is chosen in the username field's autofill, no button clicked.
    const started = await startAuthorization(page, vault, app, { scope: 'openid' });
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtClient(page, vault, app, started);
    expect(claimsOf(tokens)).toMatchObject({ sub: id, amr: ['hwk', 'user'], acr: ACR_MFA });
    await page.context().close();
  });

  it('serve as the second factor after a password', async () => {
    const { id, account, passkeys } = await personWithPasskey('lovelace');
    await account.context().close();
    const page = await windowWith(passkeys);
    const started = await startAuthorization(page, notes, app, { scope: 'openid' });
    await enterPassword(page, 'lovelace', PASSWORD);
    await page.waitForURL((u) => u.pathname.endsWith('/mfa'));
    expect(await page.textContent('h1')).toBe('Two-step verification');
    // No authenticator app on this account: the passkey is what the step offers.
    expect(await page.locator('#code').count()).toBe(0);
    await screenshot(page, 'passkeys-second-factor');
    await usePasskey(page, 'Use a passkey');
    await consentIfAsked(page);
    const tokens = await finishAtClient(page, notes, app, started);
    expect(claimsOf(tokens)).toMatchObject({ sub: id, amr: ['pwd', 'hwk', 'user'], acr: ACR_MFA });
    await page.context().close();
  });

  it('open the admin console for an admin whose second factor is a passkey', async () => {
    // One signs in with the passkey alone, the other with a password and the passkey as its second step.
    for (const [username, withPassword] of [
      ['shannon', false],
      ['hedy', true],
    ] as const) {
      const { id, account, passkeys } = await personWithPasskey(username);
      await account.context().close();
      await tessera.cli(['users', 'set-roles', id, 'admin']);
      const page = await windowWith(passkeys);
      await page.goto(new URL('/admin', tessera.issuer).href);
      if (withPassword) {
        await enterPassword(page, username, PASSWORD);
        await page.waitForURL((u) => u.pathname.endsWith('/mfa'));
        await usePasskey(page, 'Use a passkey');
      } else {
        await usePasskey(page, 'Sign in with a passkey');
      }
      await page.waitForURL((u) => u.pathname === '/admin');
      expect(await page.textContent('h1')).toBe('Overview');
      await page.context().close();
    }
  });

  it('are removed with the password, and then sign nobody in', async () => {
    const { id, account, passkeys } = await personWithPasskey('turing');
    const item = account.locator('#passkeys li');
    await item.locator('input[name="password"]').fill(PASSWORD);
    await item.getByRole('button', { name: 'Remove' }).click();
    await account.waitForURL((u) => u.search === '?done=passkey-removed');
    expect(await account.locator('#passkeys li').count()).toBe(0);
    expect(auditEvents(tessera.logs()).some((e) => e.type === 'passkey.removed' && e.userId === id)).toBe(true);

    const page = await windowWith(passkeys);
    await startAuthorization(page, notes, app, { scope: 'openid' });
    await usePasskey(page, 'Sign in with a passkey');
    expect(await page.getByRole('alert').first().textContent()).toContain('That passkey is not registered here.');
    await page.context().close();
    await account.context().close();
  });
});

describe('a passkey answer', () => {
  it('signs in once: of 100 copies posted at once, exactly one is accepted', async () => {
    const { account, passkeys } = await personWithPasskey('hamilton');
    await account.context().close();
    const page = await windowWith(passkeys);
    await startAuthorization(page, notes, app, { scope: 'openid' });
    // The browser's own post is held back; the test replays it instead.
    const { url, body, cookie } = await heldBack(page, /\/interaction\/[^/]+\/passkey$/);
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(url, {
          method: 'POST',
          redirect: 'manual',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
          body,
        }).then(async (res) => ({ status: res.status, html: await res.text() })),
      ),
    );
    const count = (status: number) => answers.filter((a) => a.status === status).length;
    expect({ signedIn: count(303), refused: count(400) }).toEqual({ signedIn: 1, refused: 99 });
    expect(answers.find((a) => a.status === 400)?.html).toContain(
      'That passkey request has expired or was already used.',
    );
    // An answer that is not one at all gets the same plain 400, never a 500.
    for (const response of ['', 'not json', '{"id":"x","type":"public-key"}', '[]']) {
      const fields = new URLSearchParams(body);
      fields.set('response', response);
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: fields,
      });
      expect(res.status).toBe(400);
      expect(await res.text()).toContain('Your browser sent an answer Tessera cannot read.');
    }
    await page.context().close();
  });

  it('are offered 20 times per sign-in in 5 minutes: of 100 asks at once, 20 get options, 80 a 429', async () => {
    const { account, passkeys } = await personWithPasskey('meitner');
    await account.context().close();
    const page = await windowWith(passkeys);
    await startAuthorization(page, notes, app, { scope: 'openid' });
    // The page's own ask is held back; the test sends 100 copies of it instead.
    const { url, body, cookie } = await heldBack(page, /\/passkey\/options$/);
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(url, {
          method: 'POST',
          headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body,
        }).then(async (res) => ({
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          json: (await res.json()) as { challenge?: string; error?: string; error_description?: string },
        })),
      ),
    );
    const offered = answers.filter((a) => a.status === 200);
    const refused = answers.filter((a) => a.status === 429);
    expect({ offered: offered.length, refused: refused.length }).toEqual({ offered: 20, refused: 80 });
    expect(new Set(offered.map((a) => a.json.challenge)).size).toBe(20);
    expect(Number(refused[0]?.retryAfter)).toBeGreaterThan(0);
    expect(refused[0]?.json).toEqual({
      error: 'rate_limited',
      error_description: 'Too many attempts. Try again in 5 minutes.',
    });
    const limitHits = () =>
      auditEvents(tessera.logs()).filter(
        (e) => e.type === 'rate_limit.hit' && e.details?.limit === 'passkey_challenge',
      );
    // The log lines reach the test through the server's stdout, a moment after the answers.
    await eventually(async () => expect(limitHits()).toHaveLength(80));
    // The person clicking again reads why; the password form still works.
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.waitForSelector('text=Too many attempts. Try again in 5 minutes.');
    await page.context().close();
  });

  it('from a copy of the passkey whose sign count fell behind is refused', async () => {
    const { account, passkeys } = await personWithPasskey('curie');
    await account.context().close();
    const first = await windowWith(passkeys);
    await startAuthorization(first, notes, app, { scope: 'openid' });
    await usePasskey(first, 'Sign in with a passkey');
    expect(first.url()).not.toMatch(/\/passkey$/);
    // A second copy made before that use counts from where the first one started.
    const clone = await windowWith(passkeys);
    await startAuthorization(clone, notes, app, { scope: 'openid' });
    await usePasskey(clone, 'Sign in with a passkey');
    expect(await clone.getByRole('alert').first().textContent()).toContain('the passkey may have been copied');
    const failed = auditEvents(tessera.logs()).filter((e) => e.type === 'passkey.failed');
    expect(failed.at(-1)?.details).toMatchObject({ reason: 'sign_count' });
    await first.context().close();
    await clone.context().close();
  });

  it('made for another sign-in is refused', async () => {
    const { account, passkeys } = await personWithPasskey('noether');
    await account.context().close();
    // Another browser's sign-in asks for options: its challenge is bound to its interaction.
    const other = await (await browser.newContext()).newPage();
    await startAuthorization(other, notes, app, { scope: 'openid' });
    const foreign = await other.evaluate(async () => {
      const form = document.querySelector<HTMLFormElement>('form[data-passkey]');
      if (!form?.dataset.options) throw new Error('no passkey form');
      const res = await fetch(form.dataset.options, {
        method: 'POST',
        body: new URLSearchParams(new FormData(form) as unknown as Record<string, string>),
        headers: { accept: 'application/json' },
      });
      return res.text();
    });
    const page = await windowWith(passkeys);
    await page.route(/\/passkey\/options$/, (route) =>
      route.fulfill({ status: 200, contentType: 'application/json', body: foreign }),
    );
    await startAuthorization(page, notes, app, { scope: 'openid' });
    await usePasskey(page, 'Sign in with a passkey');
    expect(page.url()).toMatch(/\/passkey$/);
    expect(await page.getByRole('alert').first().textContent()).toContain(
      'That passkey request has expired or was already used.',
    );
    expect(page.url()).not.toContain(app.redirectUri);
    await page.context().close();
    await other.context().close();
  });
});

describe('sign-up with a passkey', () => {
  it('makes an account with no password, which the passkey signs in once the address is verified', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    await virtualAuthenticator(page);
    const started = await startAuthorization(page, notes, app, { scope: 'openid', prompt: 'create' });
    const uid = new URL(page.url()).pathname.split('/')[2];
    await page.fill('#email', 'emmy@example.test');
    await page.fill('#username', 'emmy');
    await page.fill('#full_name', 'Emmy Noether');
    await screenshot(page, 'passkeys-signup');
    await page.getByRole('button', { name: 'Sign up with a passkey' }).click();
    await page.waitForURL((u) => u.pathname.endsWith('/signup/passkey'));
    expect(await page.textContent('h1')).toBe('Check your email');

    // Not before the address is verified.
    await page.goto(new URL(`/interaction/${uid}/login`, tessera.issuer).href);
    await usePasskey(page, 'Sign in with a passkey');
    expect(await page.getByRole('alert').first().textContent()).toContain('Verify your email address');

    const mail = await smtp.waitForMail('emmy@example.test', 'Verify your email address');
    await page.goto(smtp.linkIn(mail, '/verify-email'));
    await page.getByRole('button', { name: 'Verify my email address' }).click();
    await page.getByRole('link', { name: 'Continue signing in' }).click();
    await usePasskey(page, 'Sign in with a passkey');
    await consentIfAsked(page);
    const tokens = await finishAtClient(page, notes, app, started);
    const claims = claimsOf(tokens);
    expect(claims).toMatchObject({ amr: ['hwk', 'user'], acr: ACR_MFA });
    const shown = (await tessera.cli(['users', 'show', String(claims.sub)])).json<Record<string, unknown>>();
    expect(shown).toMatchObject({
      username: 'emmy',
      email_verified: true,
      factors: { password: false, passkeys: [{ name: 'Passkey' }] },
    });
    await page.context().close();
  });
});

describe("a passkey sign-up with someone else's address", () => {
  it("is taken over by the address holder's password reset: the passkey goes, the address is verified", async () => {
    // Mallory signs up as Sophie with Mallory's own passkey, and waits for Sophie to verify.
    const mallory = await (await browser.newContext()).newPage();
    await mallory.addInitScript(() => {
      PublicKeyCredential.isConditionalMediationAvailable = async () => false;
    });
    const mallorysKey = await virtualAuthenticator(mallory);
    await startAuthorization(mallory, notes, app, { scope: 'openid', prompt: 'create' });
    await mallory.fill('#email', 'sophie@example.test');
    await mallory.fill('#username', 'sophie');
    await mallory.fill('#full_name', 'Sophie Germain');
    await mallory.getByRole('button', { name: 'Sign up with a passkey' }).click();
    await mallory.waitForURL((u) => u.pathname.endsWith('/signup/passkey'));
    expect(await mallory.textContent('h1')).toBe('Check your email');
    const signedUp = auditEvents(tessera.logs()).filter(
      (e) => e.type === 'passkey.added' && e.details?.during === 'signup',
    );
    const pending = { id: signedUp.at(-1)?.userId ?? '' };
    expect((await tessera.cli(['users', 'show', pending.id])).json()).toMatchObject({
      email: 'sophie@example.test',
      email_verified: false,
      factors: { password: false, passkeys: [{ name: 'Passkey' }] },
    });

    // Sophie, who holds the address, resets the password with the mailed link.
    const sophie = await (await browser.newContext()).newPage();
    await sophie.goto(new URL('/forgot-password', tessera.issuer).href);
    await sophie.fill('#email', 'sophie@example.test');
    await sophie.getByRole('button', { name: 'Send link' }).click();
    const mail = await smtp.waitForMail('sophie@example.test', 'Reset your password');
    await sophie.goto(smtp.linkIn(mail, '/reset-password'));
    await sophie.fill('#password', PASSWORD);
    await sophie.getByRole('button', { name: 'Set password' }).click();
    expect(await sophie.textContent('main')).toContain('Your password has been changed');

    const shown = (await tessera.cli(['users', 'show', pending.id])).json<Record<string, unknown>>();
    expect(shown).toMatchObject({
      email_verified: true,
      username: null,
      factors: { password: true, passkeys: [] },
    });
    const reset = auditEvents(tessera.logs()).find((e) => e.type === 'password.reset' && e.userId === pending.id);
    expect(reset?.details).toMatchObject({ email_verified: true, passkeys_removed: 1 });

    // Mallory's passkey signs nobody in; Sophie's password does, with no address left to verify.
    const window = await windowWith(await mallorysKey.credentials());
    await startAuthorization(window, notes, app, { scope: 'openid' });
    await usePasskey(window, 'Sign in with a passkey');
    expect(await window.getByRole('alert').first().textContent()).toContain('That passkey is not registered here');
    const started = await startAuthorization(sophie, notes, app, { scope: 'openid' });
    await enterPassword(sophie, 'sophie@example.test', PASSWORD);
    await consentIfAsked(sophie);
    expect(claimsOf(await finishAtClient(sophie, notes, app, started)).sub).toBe(pending.id);
    for (const p of [mallory, sophie, window]) await p.context().close();
  });
});

describe('operators', () => {
  it('see passkeys with tessera users show and the admin API, and remove one there', async () => {
    const { id, account } = await personWithPasskey('liskov');
    await account.context().close();
    const shown = (await tessera.cli(['users', 'show', id])).json<Record<string, unknown>>();
    expect(shown).toMatchObject({
      id,
      username: 'liskov',
      roles: [],
      factors: {
        password: true,
        totp: null,
        passkeys: [{ name: 'Work laptop', last_used_at: null, device_type: 'singleDevice', backed_up: false }],
      },
      linked_identities: [],
    });
    const key = (await tessera.cli(['api-keys', 'create', '--name', 'ops', '--role', 'admin'])).json<{ key: string }>()
      .key;
    const admin = (method: string, path: string) =>
      fetch(new URL(`/api/admin${path}`, tessera.issuer), { method, headers: { authorization: `Bearer ${key}` } });
    const factors = (await (await admin('GET', `/users/${id}/factors`)).json()) as { passkeys: { id: string }[] };
    const passkeyId = factors.passkeys[0]?.id ?? '';
    expect((await admin('DELETE', `/users/${id}/passkeys/${passkeyId}`)).status).toBe(204);
    expect((await admin('DELETE', `/users/${id}/passkeys/${passkeyId}`)).status).toBe(404);
    expect((await tessera.cli(['users', 'show', id])).json<{ factors: { passkeys: [] } }>().factors.passkeys).toEqual(
      [],
    );
    const removed = auditEvents(tessera.logs()).find((e) => e.type === 'passkey.removed' && e.userId === id);
    expect(removed?.details).toMatchObject({ passkey_id: passkeyId, by: 'operator' });

    const unknown = await tessera.cli(['users', 'remove-passkey', id, passkeyId]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain(`has no passkey ${passkeyId}`);
    expect((await tessera.cli(['users', 'show', 'no-such-user'])).stderr).toContain('does not exist');
  });
});

describe('the login page without scripts', () => {
  it('works with the password form and shows no passkey button', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const response = await page.goto(new URL('/account/sign-in', tessera.issuer).href);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain(
      `script-src ${tessera.issuer}/assets/simplewebauthn-browser.js ${tessera.issuer}/assets/passkeys.js;`,
    );
    expect(csp).not.toContain('unsafe-inline');
    expect(await page.locator('#password').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible()).toBe(false);
    await context.close();
  });
});
