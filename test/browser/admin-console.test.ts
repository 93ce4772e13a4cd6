import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startUpstreamProvider, type UpstreamProvider } from '../fixtures/upstream-provider.ts';
import { openAccount } from '../support/account.ts';
import { browserSuitePerFile, createClient, createUser } from '../support/browser-suite.ts';
import { checkPage, type SecondFactor, signInToConsole } from '../support/console.ts';
import { csrfOf, postForm } from '../support/form-posts.ts';
import { type ClientApp, relyingParty, signInThroughPages } from '../support/oidc-flow.ts';
import { virtualAuthenticator } from '../support/passkeys.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { eventually, type RunningTessera } from '../support/tessera.ts';

/**
 * The admin console in Chromium, as an operator uses it: signing in with a second factor, a
 * non-admin refused, clients made in it working with openid-client, users invited by mail, roles
 * reaching the next token, a disabled user's refresh token refused, a lost passkey removed, the
 * audit log filtered and exported, upstream connections made against a real OpenID Provider and
 * changed, the GITHUB_* connection shown read-only. Every console page visited is checked with
 * axe-core and kept as a screenshot.
 */
const PASSWORD = 'lantern harbour copper violin';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let smtp: TestSmtp;
/** A real OpenID Provider, for connections whose issuer must answer discovery. */
let upstream: UpstreamProvider;
/** The operator's console, signed in once for the whole file. */
let admin: Page;
let adminContext: BrowserContext;
const rootFactor: SecondFactor = { recoveryCodes: [] };
/** A web client made with the CLI, for people to sign in to. */
let shop: oidc.Configuration;

// Before the suite's server, which is told where to send mail.
beforeAll(async () => {
  [smtp, upstream] = await Promise.all([startTestSmtp(), startUpstreamProvider()]);
});

browserSuitePerFile(
  (suite) => {
    ({ tessera, browser, app } = suite);
  },
  () => ({
    SMTP_URL: smtp.url,
    MAIL_FROM: 'Tessera <auth@tessera.test>',
    // Defines the read-only GitHub connection; nothing here signs in with it.
    GITHUB_CLIENT_ID: 'env-github-client',
    GITHUB_CLIENT_SECRET: 'env-github-secret',
  }),
);

beforeAll(async () => {
  await createUser(tessera, { username: 'root', password: PASSWORD, roles: ['admin'] });
  shop = (await createClient({ tessera, app }, 'Shop', 'web')).config;
  adminContext = await browser.newContext();
  admin = await adminContext.newPage();
  await signInToConsole(admin, tessera.issuer, 'root', PASSWORD, rootFactor);
  expect(await admin.textContent('h1')).toBe('Overview');
});

afterAll(async () => {
  await adminContext?.close();
  await smtp?.close();
  await upstream?.close();
});

const at = (path: string) => new URL(path, tessera.issuer).href;

async function freshPage(): Promise<Page> {
  return (await browser.newContext()).newPage();
}

/** Signs `login` in to the Shop through the pages; the tokens as the app gets them. */
async function signInToShop(login: string, password = PASSWORD, extra: Record<string, string> = {}) {
  const page = await freshPage();
  const result = await signInThroughPages(page, shop, {
    app,
    login,
    password,
    scope: 'openid profile email roles',
    extra,
  });
  await page.context().close();
  if (!result.tokens) throw new Error('no tokens');
  return result.tokens;
}

/** Opens the console page of the user with this email, through the search. */
async function openUser(email: string) {
  await admin.goto(at('/admin/users'));
  await admin.fill('#q', email);
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.getByRole('link', { name: email }).click();
  expect(await admin.textContent('h1')).toBe(email);
}

describe('signing in to the console', () => {
  it('asks an admin for the second factor and shows the overview', async () => {
    const page = await freshPage();
    await page.goto(at('/admin'));
    expect(page.url()).toContain('/interaction/');
    await signInToConsole(page, tessera.issuer, 'root', PASSWORD, rootFactor);
    expect(new URL(page.url()).pathname).toBe('/admin');
    expect(await page.textContent('h1')).toBe('Overview');
    expect(Number(await page.textContent('#active-sessions'))).toBeGreaterThanOrEqual(2);
    // One chart per series, each an image with its numbers in words; the table holds them all.
    expect(await page.getByRole('img', { name: /^Sign-ins per day/ }).count()).toBe(1);
    expect(await page.locator('.chart-total[data-kind="event:login.succeeded"]').textContent()).not.toBe('0');
    // The latest events name the console's own client, which has no page to link to.
    expect(await page.textContent('table.events')).toContain('tessera-console');
    expect(await page.getByRole('link', { name: 'tessera-console' }).count()).toBe(0);
    await checkPage(page, 'overview');
    // Tokens are counted as they are issued and written every few seconds.
    await createUser(tessera, { username: 'counted', password: PASSWORD });
    await signInToShop('counted');
    await eventually(async () => {
      await page.reload();
      expect(Number(await page.locator('.chart-total[data-kind="tokens_issued"]').textContent())).toBeGreaterThan(0);
    });
    await page.context().close();
  });

  it('refuses a person without the admin role with a 403 page', async () => {
    await createUser(tessera, { username: 'visitor', password: PASSWORD });
    const page = await freshPage();
    await signInToConsole(page, tessera.issuer, 'visitor', PASSWORD);
    const answer = await page.goto(at('/admin/users'));
    expect(answer?.status()).toBe(403);
    expect(await page.textContent('h1')).toBe('The admin console is for administrators');
    await checkPage(page, 'forbidden');
    await page.context().close();
  });

  it('refuses a form posted without a session, or without its CSRF token', async () => {
    const stranger = await browser.newContext();
    expect((await stranger.request.post(at('/admin/keys/rotate'), { form: {}, maxRedirects: 0 })).status()).toBe(403);
    await stranger.close();
    expect((await postForm(adminContext, at('/admin/keys/rotate'), {})).status()).toBe(403);
    expect((await postForm(adminContext, at('/admin/keys/rotate'), { csrf: 'x'.repeat(43) })).status()).toBe(403);
  });

  it('ends for an admin who loses the role, at the next request', async () => {
    await createUser(tessera, { username: 'deputy', password: PASSWORD, roles: ['admin'] });
    const page = await freshPage();
    await signInToConsole(page, tessera.issuer, 'deputy', PASSWORD, { recoveryCodes: [] });
    expect(await page.textContent('h1')).toBe('Overview');
    await openUser('deputy@example.test');
    await admin.getByRole('checkbox', { name: 'admin' }).uncheck();
    await admin.getByRole('button', { name: 'Save roles' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The roles were saved');
    expect((await page.goto(at('/admin')))?.status()).toBe(403);
    await page.context().close();

    // Root is the only admin left: taking its role, disabling or deleting it would lock everyone out.
    const lastAdmin = 'no enabled user with the admin role';
    await openUser('root@example.test');
    await admin.getByRole('checkbox', { name: 'admin' }).uncheck();
    await admin.getByRole('button', { name: 'Save roles' }).click();
    expect(await admin.getByRole('alert').textContent()).toContain(lastAdmin);
    await admin.getByRole('button', { name: 'Disable' }).click();
    expect(await admin.getByRole('alert').textContent()).toContain(lastAdmin);
    await admin.getByRole('link', { name: 'Delete user…' }).click();
    await admin.getByRole('button', { name: 'Delete root@example.test' }).click();
    expect(await admin.getByRole('alert').textContent()).toContain(lastAdmin);
    expect(await admin.getByRole('checkbox', { name: 'admin' }).isChecked()).toBe(true);
  });
});

describe('clients', () => {
  it('creates a web client whose secret, shown once with a copy button, works with openid-client', async () => {
    await adminContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: tessera.issuer });
    await admin.goto(at('/admin/clients'));
    await checkPage(admin, 'clients');
    await admin.getByRole('link', { name: 'New client' }).click();
    await checkPage(admin, 'client-new-types');
    await admin.getByRole('link', { name: /^Web app/ }).click();
    await admin.fill('#name', 'Billing');
    await admin.fill('#redirect_uris', app.redirectUri);
    await admin.fill('#scopes', 'openid\nprofile\nemail\nroles');
    await checkPage(admin, 'client-new-web');
    await admin.getByRole('button', { name: 'Create client' }).click();
    expect(await admin.textContent('h1')).toBe('Client created');
    const clientId = ((await admin.textContent('#client-id')) ?? '').trim();
    const secret = ((await admin.textContent('#client-secret')) ?? '').trim();
    await admin.getByRole('button', { name: 'Copy secret' }).click();
    await admin.waitForFunction(() => document.getElementById('copy-status')?.textContent === 'Copied.');
    expect(await admin.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await checkPage(admin, 'client-secret');

    await createUser(tessera, { username: 'payer', password: PASSWORD });
    const billing = await relyingParty(tessera.issuer, clientId, secret);
    const page = await freshPage();
    const { tokens } = await signInThroughPages(page, billing, { app, login: 'payer', password: PASSWORD });
    expect(tokens?.claims()?.email).toBe('payer@example.test');
    await page.context().close();

    // The client's page: its settings to edit, and the secret never again.
    await admin.goto(at(`/admin/clients/${clientId}`));
    expect(await admin.content()).not.toContain(secret);
    await admin.fill('#name', 'Billing desk');
    await admin.getByRole('button', { name: 'Save client' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The client was saved');
    expect(await admin.textContent('h1')).toBe('Billing desk');
    await checkPage(admin, 'client');
    await admin.fill('#redirect_uris', 'not a url');
    await admin.getByRole('button', { name: 'Save client' }).click();
    expect(await admin.getByRole('alert').textContent()).toContain('redirect_uris');
  });

  it('deletes a client after a confirmation', async () => {
    await admin.goto(at('/admin/clients/new?type=machine'));
    await admin.fill('#name', 'Nightly export');
    await admin.getByRole('button', { name: 'Create client' }).click();
    const clientId = ((await admin.textContent('#client-id')) ?? '').trim();
    await admin.goto(at(`/admin/clients/${clientId}`));
    await admin.getByRole('link', { name: 'Delete client…' }).click();
    await checkPage(admin, 'client-delete');
    await admin.getByRole('button', { name: 'Delete Nightly export' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The client was deleted');
    expect((await admin.goto(at(`/admin/clients/${clientId}`)))?.status()).toBe(404);
  });
});

describe('users', () => {
  it('invites a user by mail, who sets a password and signs in', async () => {
    await admin.goto(at('/admin/users/new'));
    await admin.fill('#email', 'ada@example.test');
    await admin.fill('#full_name', 'Ada Lovelace');
    await checkPage(admin, 'user-new');
    await admin.getByRole('button', { name: 'Create and send invitation' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('invitation mail is on its way');
    expect(await admin.textContent('#password-state')).toContain('none yet');

    const mail = await smtp.waitForMail('ada@example.test', 'You are invited to Tessera');
    expect(mail.text).toContain('Hi Ada Lovelace');
    const page = await freshPage();
    await page.goto(smtp.linkIn(mail, '/invitation'));
    await page.fill('#password', 'short');
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('8');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.textContent('h1')).toBe('Your account is ready');
    await page.context().close();

    const tokens = await signInToShop('ada@example.test');
    expect(tokens.claims()).toMatchObject({ email: 'ada@example.test', email_verified: true, name: 'Ada Lovelace' });
  });

  it('honours an invitation link once, however many use it at the same moment', async () => {
    await admin.goto(at('/admin/users/new'));
    await admin.fill('#email', 'grace@example.test');
    await admin.getByRole('button', { name: 'Create and send invitation' }).click();
    const link = smtp.linkIn(await smtp.waitForMail('grace@example.test', 'You are invited to Tessera'), '/invitation');
    const page = await freshPage();
    await page.goto(link);
    const csrf = (await page.locator('input[name="csrf"]').getAttribute('value')) ?? '';
    const token = new URL(link).searchParams.get('token') ?? '';
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        postForm(page.context(), at('/invitation'), { csrf, token, password: `${PASSWORD} ${i}` }),
      ),
    );
    const statuses = answers.map((a) => a.status());
    const tally = Object.fromEntries([...new Set(statuses)].map((s) => [s, statuses.filter((x) => x === s).length]));
    expect(tally).toEqual({ 200: 1, 400: 99 });
    const winner = answers.findIndex((a) => a.status() === 200);
    await page.goto(link);
    expect(await page.textContent('h1')).toBe('This invitation has expired or was already used');
    await page.context().close();
    expect((await signInToShop('grace@example.test', `${PASSWORD} ${winner}`)).claims()?.email).toBe(
      'grace@example.test',
    );
  });

  it('changes roles, which the next token carries', async () => {
    await admin.goto(at('/admin/roles'));
    await admin.fill('#name', 'editor');
    await admin.fill('#description', 'Edits the catalogue');
    await admin.getByRole('button', { name: 'Create role' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The role was created');
    await checkPage(admin, 'roles');

    await createUser(tessera, { username: 'writer', password: PASSWORD });
    expect((await signInToShop('writer')).claims()?.roles).toEqual([]);
    await openUser('writer@example.test');
    expect(await admin.textContent('#user-passkeys')).toBe('No passkeys.');
    await checkPage(admin, 'user');
    await admin.getByRole('checkbox', { name: 'editor' }).check();
    await admin.getByRole('button', { name: 'Save roles' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The roles were saved');
    expect((await signInToShop('writer')).claims()?.roles).toEqual(['editor']);
  });

  it('disables a user, whose refresh token is then refused', async () => {
    await createUser(tessera, { username: 'leaver', password: PASSWORD });
    const tokens = await signInToShop('leaver', PASSWORD, {
      scope: 'openid email offline_access',
      prompt: 'consent',
    });
    expect(tokens.refresh_token).toBeTruthy();
    await openUser('leaver@example.test');
    await admin.getByRole('button', { name: 'Disable' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The user was disabled');
    await expect(oidc.refreshTokenGrant(shop, tokens.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('lists a user’s passkeys and removes a lost one, which ends their sessions', async () => {
    await createUser(tessera, { username: 'keyholder', password: PASSWORD });
    const account = await openAccount(browser, tessera.issuer, 'keyholder', PASSWORD);
    await virtualAuthenticator(account);
    await account.reload();
    await account.fill('#passkey_name', 'Work laptop');
    await account.fill('#passkey_password', PASSWORD);
    await account.getByRole('button', { name: 'Add a passkey' }).click();
    await account.waitForURL((u) => u.search === '?done=passkey-added');

    await openUser('keyholder@example.test');
    const today = new Date().toISOString().slice(0, 10);
    expect(await admin.textContent('#user-passkeys')).toMatch(new RegExp(`Work laptop, added ${today}, never used`));
    await checkPage(admin, 'user-passkeys');
    await admin.getByRole('button', { name: 'Remove passkey Work laptop' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The passkey was removed');
    expect(await admin.textContent('#user-passkeys')).toBe('No passkeys.');
    await account.reload();
    expect(await account.textContent('h1')).toBe('Sign in to manage your account');
    await account.context().close();
  });

  it('searches and pages through users', async () => {
    await admin.goto(at('/admin/users?q=EXAMPLE.test'));
    await checkPage(admin, 'users');
    const rows = await admin.locator('#users tbody tr').count();
    expect(rows).toBeGreaterThanOrEqual(5);
    await admin.goto(at('/admin/users?q=nobody-has-this'));
    expect(await admin.textContent('main')).toContain('No user matches');
  });
});

describe('the audit log', () => {
  it('filters by type, user, client and day, and exports the selection as CSV', async () => {
    await createUser(tessera, { username: 'watched', password: PASSWORD });
    await openUser('watched@example.test');
    await admin.getByRole('button', { name: 'End all sessions' }).click();
    const today = new Date().toISOString().slice(0, 10);

    await admin.goto(at('/admin/audit'));
    await admin.fill('#type', 'user.sessions_revoked');
    await admin.fill('#user', 'watched@example.test');
    await admin.fill('#from', today);
    await admin.fill('#to', today);
    await admin.getByRole('button', { name: 'Filter' }).click();
    const rows = admin.locator('table.events tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('user.sessions_revoked');
    await checkPage(admin, 'audit');

    const clientId = shop.clientMetadata().client_id;
    await admin.goto(at(`/admin/audit?client=${encodeURIComponent(clientId)}&type=client.created`));
    expect(await rows.count()).toBe(1);

    const csv = await adminContext.request.get(
      at(`/admin/audit.csv?type=user.sessions_revoked&user=${encodeURIComponent('watched@example.test')}`),
    );
    expect(csv.headers()['content-type']).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('"id","at","type","user_id","client_id","actor","ip","user_agent","details"');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('"user.sessions_revoked"');

    const bad = await admin.goto(at('/admin/audit?from=yesterday'));
    expect(bad?.status()).toBe(400);
    expect(await admin.getByRole('alert').textContent()).toContain('YYYY-MM-DD');
  });
});

describe('APIs, API keys and signing keys', () => {
  it('registers an API, makes an API key that works once shown, and rotates the signing keys', async () => {
    await admin.goto(at('/admin/apis'));
    await admin.fill('#audience', 'https://invoices.example.test');
    await admin.fill('#scopes', 'read:invoices\nwrite:invoices');
    await admin.getByRole('button', { name: 'Register API' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The API was registered');
    expect(await admin.textContent('#apis')).toContain('read:invoices write:invoices');
    await checkPage(admin, 'apis');

    await admin.goto(at('/admin/api-keys'));
    await admin.fill('#name', 'reporting');
    await admin.getByRole('checkbox', { name: 'admin' }).check();
    await admin.getByRole('button', { name: 'Create API key' }).click();
    const key = ((await admin.textContent('#api-key')) ?? '').trim();
    expect(key).toMatch(/^tsk_/);
    await checkPage(admin, 'api-key-created');
    const listed = await fetch(at('/api/admin/roles'), { headers: { authorization: `Bearer ${key}` } });
    expect(listed.status).toBe(200);
    await admin.goto(at('/admin/api-keys'));
    await checkPage(admin, 'api-keys');

    await admin.goto(at('/admin/keys'));
    const before = await admin.locator('#signing-keys tbody tr').count();
    await admin.getByRole('button', { name: 'Rotate signing keys' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('New signing keys are published');
    expect(await admin.locator('#signing-keys tbody tr').count()).toBe(before + 2);
    expect(await admin.textContent('#signing-keys')).toContain('Published, signs soon');
    await checkPage(admin, 'keys');
  });
});

describe('connections', () => {
  const SECRET = 'upstream-secret-never-shown-back';
  /** The "Continue with" buttons a person sees on the sign-in page. */
  async function signInButtons(): Promise<string[]> {
    const page = await freshPage();
    await page.goto(at('/account'));
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    const buttons = await page.getByRole('button', { name: /^Continue with / }).allTextContents();
    await page.context().close();
    return buttons.map((b) => b.trim());
  }

  it('creates an OpenID Connect connection once its issuer answers discovery, and shows the redirect URI', async () => {
    await admin.goto(at('/admin/connections'));
    expect(await admin.textContent('#connections')).toContain('GitHub (GITHUB_* variables)');
    await admin.getByRole('link', { name: 'New connection' }).click();
    await checkPage(admin, 'connection-new-types');
    await admin.getByRole('link', { name: /^OpenID Connect provider/ }).click();
    await admin.fill('#name', 'Acme SSO');
    await admin.fill('#issuer', 'http://127.0.0.1:9/nothing-here');
    await admin.fill('#client_id', upstream.clientId);
    await admin.fill('#client_secret', SECRET);
    await admin.fill('#domains', 'Acme.Example');
    await checkPage(admin, 'connection-new-oidc');
    await admin.getByRole('button', { name: 'Create connection' }).click();
    expect(await admin.getByRole('alert').textContent()).toContain('issuer: no usable OpenID Connect discovery');
    // Shown again as typed, but for the secret, which is typed again.
    expect(await admin.inputValue('#name')).toBe('Acme SSO');
    expect(await admin.inputValue('#client_secret')).toBe('');
    expect(await admin.content()).not.toContain(SECRET);

    await admin.fill('#issuer', upstream.issuer);
    await admin.fill('#client_secret', SECRET);
    await admin.getByRole('button', { name: 'Create connection' }).click();
    // The page's second status is the copy button's.
    expect(await admin.textContent('.notice')).toContain('Register its redirect URI');
    expect(await admin.textContent('h1')).toBe('Acme SSO');
    const id = new URL(admin.url()).pathname.split('/').at(-1) ?? '';
    expect(await admin.textContent('#redirect-uri')).toBe(at(`/connections/${id}/callback`));
    expect(await admin.inputValue('#domains')).toBe('acme.example');
    expect(await admin.content()).not.toContain(SECRET);
    await admin.getByRole('button', { name: 'Copy redirect URI' }).click();
    await admin.waitForFunction(() => document.getElementById('copy-status')?.textContent === 'Copied.');
    expect(await admin.evaluate(() => navigator.clipboard.readText())).toBe(at(`/connections/${id}/callback`));
    await checkPage(admin, 'connection');
    expect(await signInButtons()).toContain('Continue with Acme SSO');
  });

  it('edits, disables and deletes a connection after a confirmation', async () => {
    await admin.goto(at('/admin/connections'));
    await admin.getByRole('link', { name: 'Acme SSO' }).click();
    await admin.fill('#domains', 'not a domain');
    await admin.getByRole('button', { name: 'Save connection' }).click();
    expect(await admin.getByRole('alert').textContent()).toContain('domains');

    await admin.fill('#domains', 'acme.example\nacme-labs.example');
    await admin.getByRole('checkbox', { name: /^Trust the upstream/ }).check();
    await admin.getByRole('checkbox', { name: /^Enabled/ }).uncheck();
    await admin.getByRole('button', { name: 'Save connection' }).click();
    expect(await admin.textContent('.notice')).toContain('The connection was saved');
    expect(await admin.textContent('.lead')).toContain('disabled');
    expect(await admin.getByRole('checkbox', { name: /^Trust the upstream/ }).isChecked()).toBe(true);
    // In the database's order, which is its collation's.
    expect((await admin.inputValue('#domains')).split('\n').sort()).toEqual(['acme-labs.example', 'acme.example']);
    expect(await signInButtons()).not.toContain('Continue with Acme SSO');
    await admin.goto(at('/admin/connections'));
    expect(await admin.textContent('#connections')).toContain('Disabled');
    await checkPage(admin, 'connections');

    await admin.getByRole('link', { name: 'Acme SSO' }).click();
    const path = new URL(admin.url()).pathname;
    await admin.getByRole('link', { name: 'Delete connection…' }).click();
    await checkPage(admin, 'connection-delete');
    await admin.getByRole('button', { name: 'Delete Acme SSO' }).click();
    expect(await admin.getByRole('status').textContent()).toContain('The connection was deleted');
    expect((await admin.goto(at(path)))?.status()).toBe(404);
  });

  it('shows the connection of the GITHUB_* variables without a way to change it', async () => {
    await admin.goto(at('/admin/connections/github'));
    expect(await admin.textContent('h1')).toBe('GitHub');
    expect(await admin.textContent('#environment-note')).toContain('GITHUB_*');
    expect(await admin.getByRole('button', { name: 'Save connection' }).count()).toBe(0);
    expect(await admin.getByRole('link', { name: 'Delete connection…' }).count()).toBe(0);
    expect(await admin.content()).not.toContain('env-github-secret');
    await checkPage(admin, 'connection-environment');
    // A post made anyway (with the token of a page that has forms) is refused by the admin API's own rule.
    await admin.goto(at('/admin/connections/new?type=github'));
    const csrf = await csrfOf(admin);
    const refused = await postForm(adminContext, at('/admin/connections/github/delete'), { csrf });
    expect(refused.status()).toBe(409);
  });
});

describe('the pages at 360 px wide', () => {
  it('fit the screen: only tables scroll, inside their own box', async () => {
    await admin.setViewportSize({ width: 360, height: 740 });
    const paths = ['/admin', '/admin/users', '/admin/users/new', '/admin/clients', '/admin/clients/new?type=web'];
    paths.push('/admin/connections', '/admin/connections/new?type=oidc', '/admin/connections/github');
    for (const path of [...paths, '/admin/apis', '/admin/roles', '/admin/audit', '/admin/api-keys', '/admin/keys']) {
      await admin.goto(at(path));
      const wider = await admin.evaluate(() =>
        [...document.querySelectorAll('body *')]
          .filter((e) => !e.parentElement?.closest('.table-wrap') && e.getBoundingClientRect().right > 360.5)
          .map((e) => `${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}`),
      );
      const width = await admin.evaluate(() => document.documentElement.scrollWidth);
      expect({ path, width, wider }).toEqual({ path, width: 360, wider: [] });
    }
    await admin.goto(at('/admin'));
    await checkPage(admin, 'overview-360');
    await admin.setViewportSize({ width: 1280, height: 800 });
  });
});
