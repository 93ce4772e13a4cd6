import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { openAccount } from '../support/account.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { csrfOf, postForm } from '../support/form-posts.ts';
import { type ClientApp, relyingParty, signInThroughPages, startClientApp } from '../support/oidc-flow.ts';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * /account as its owner uses it: profile and password, the sessions and apps that hold access
 * (and ending them, which kills their refresh tokens), and deleting the account.
 */
const PASSWORD = 'lanterns drift over quiet harbours';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let web: { client_id: string; client_secret: string };
const userIds = new Map<string, string>();

beforeAll(async () => {
  [tessera, browser, app] = await Promise.all([startTessera(), launchBrowser(), startClientApp()]);
  web = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Harbour Log',
      '--type',
      'web',
      '--redirect-uri',
      app.redirectUri,
    ])
  ).json();
  for (const username of ['noor', 'ravi', 'lena', 'omar', 'iris', 'theo']) {
    const email = `${username}@example.test`;
    const created = (
      await tessera.cli(
        ['users', 'create', '--email', email, '--username', username, '--name', username, '--password-stdin'],
        PASSWORD,
      )
    ).json<{ id: string }>();
    userIds.set(username, created.id);
  }
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await tessera?.dispose();
});

const signInToAccount = (login: string, password = PASSWORD) => openAccount(browser, tessera.issuer, login, password);

async function appSignIn(login: string) {
  const config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
  const page = await (await browser.newContext()).newPage();
  const { tokens } = await signInThroughPages(page, config, {
    app,
    login,
    password: PASSWORD,
    scope: 'openid offline_access',
    extra: { prompt: 'consent' },
  });
  await page.context().close();
  return { config, refreshToken: tokens?.refresh_token ?? '' };
}

describe('the account page', () => {
  it('edits the profile and changes the password, refusing a wrong current password', async () => {
    const page = await signInToAccount('noor');
    await page.fill('#full_name', 'Noor Haddad');
    await page.fill('#username', 'ravi');
    await page.getByRole('button', { name: 'Save profile' }).click();
    expect(await page.textContent('#username-error')).toContain('That username is taken.');
    await page.fill('#username', 'noor.h');
    await page.getByRole('button', { name: 'Save profile' }).click();
    expect(await page.getByRole('status').textContent()).toBe('Your profile was saved.');
    expect(await page.inputValue('#full_name')).toBe('Noor Haddad');

    await page.fill('#current_password', 'not my password');
    await page.fill('#new_password', 'another long and fine passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    expect(await page.textContent('#password-error')).toContain('Your current password is not right.');
    await page.fill('#current_password', PASSWORD);
    await page.fill('#new_password', 'another long and fine passphrase');
    await page.getByRole('button', { name: 'Change password' }).click();
    expect(await page.getByRole('status').textContent()).toBe(
      'Your password was changed. Every other session was signed out.',
    );
    await screenshot(page, 'account-page');
    await page.context().close();
    await (await signInToAccount('noor.h', 'another long and fine passphrase')).context().close();
  });

  it('tells one of two people saving the same username at once that it is taken, never a 500', async () => {
    const [iris, theo] = await Promise.all([signInToAccount('iris'), signInToAccount('theo')]);
    const csrf = new Map(await Promise.all([iris, theo].map(async (page) => [page, await csrfOf(page)] as const)));
    // Straight from this process, not through the browser, whose client sends a few at a time.
    const save = async (page: typeof iris, username: string) => {
      const fields = { csrf: csrf.get(page) ?? '', full_name: 'Someone', username };
      const res = await postForm(page.context(), new URL('/account/profile', tessera.issuer).href, fields);
      return { status: res.status(), retryAfter: res.headers()['retry-after'], text: await res.text() };
    };
    // 60 names, each sent by both at the same moment: 120 posts in all. A save moves its sender off
    // the name it had, so a name may go to both in turn; what must never happen is two at once.
    // On PostgreSQL both checks often pass before either write, and the unique index decides; two
    // people trading names at once deadlock there, and the one PostgreSQL stops must go again.
    const names = Array.from({ length: 60 }, (_, i) => `stargazer${i}`);
    const posts = await Promise.all(names.flatMap((name) => [save(iris, name), save(theo, name)]));
    // 120 posts at once can outrun a busy machine's database: a post that waits too long for a
    // connection is told to try again shortly (503 with Retry-After), the server's answer to any
    // overload. What must never happen is a 500, or two people holding one name.
    const overloaded = (post: (typeof posts)[number]) => post.status === 503 && Number(post.retryAfter) > 0;
    // Each unexpected answer whole, so a failure says what the person saw.
    const unexpected = posts.filter(
      (post) =>
        !(
          post.status === 303 ||
          (post.status === 400 && post.text.includes('That username is taken.')) ||
          overloaded(post)
        ),
    );
    expect(unexpected.map((post) => `${post.status} ${post.text.slice(0, 300)}`)).toEqual([]);
    const held = await Promise.all(
      [iris, theo].map(async (page) => {
        await page.reload();
        return page.inputValue('#username');
      }),
    );
    // Each holds a name the page said was saved for them, or their own when none was: on the
    // embedded database, which runs the posts one by one, Iris's (sent first) may win every time.
    // A post told to try again may or may not have saved its name before the wait ran out.
    for (const [who, original] of ['iris', 'theo'].entries()) {
      const answers = names.map((name, i) => ({ name, post: posts[2 * i + who] }));
      const saved = answers.filter(({ post }) => post?.status === 303).map(({ name }) => name);
      const unknown = answers.filter(({ post }) => post && overloaded(post)).map(({ name }) => name);
      expect([...(saved.length > 0 ? saved : [original]), ...unknown]).toContain(held[who]);
    }
    expect(posts.some((post) => post.status === 303)).toBe(true);
    expect(held[0]).not.toBe(held[1]);
    expect(
      tessera
        .logs()
        .split('\n')
        .filter((line) => /"status":5\d\d/.test(line) && !line.includes('"status":503')),
    ).toEqual([]);
    for (const page of [iris, theo]) await page.context().close();
  });

  it('signs out another session, after which that session’s refresh token fails', async () => {
    const elsewhere = await appSignIn('ravi');
    const page = await signInToAccount('ravi');
    expect(await page.locator('li[data-session]', { hasText: 'this browser' }).count()).toBe(1);
    const other = page.locator('li[data-session]', { hasNotText: 'this browser' });
    expect(await other.count()).toBe(1);
    expect(await other.textContent()).toContain('Harbour Log');
    await other.getByRole('button', { name: 'Sign out' }).click();
    expect(await page.getByRole('status').textContent()).toBe('The session was signed out.');
    expect(await page.locator('li[data-session]').count()).toBe(1);
    await expect(oidc.refreshTokenGrant(elsewhere.config, elsewhere.refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await page.context().close();
  });

  it('revokes an app’s access, after which its refresh token fails', async () => {
    const signedIn = await appSignIn('lena');
    const page = await signInToAccount('lena');
    const grant = page.locator('li[data-grant]');
    expect(await grant.count()).toBe(1);
    expect(await grant.textContent()).toContain('Harbour Log');
    expect(await grant.textContent()).toContain('openid offline_access');
    await grant.getByRole('button', { name: 'Revoke access' }).click();
    expect(await page.getByRole('status').textContent()).toBe('The app no longer has access to your account.');
    expect(await page.textContent('main')).toContain('No app has access to your account.');
    await expect(oidc.refreshTokenGrant(signedIn.config, signedIn.refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await page.context().close();
  });

  it('deletes the account after the password is entered again', async () => {
    const signedIn = await appSignIn('omar');
    const page = await signInToAccount('omar');
    await page.fill('#delete_password', 'wrong');
    await page.getByRole('button', { name: 'Delete account' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Your current password is not right.');
    // The only admin may not leave nobody able to sign in to the console.
    const omar = userIds.get('omar') ?? '';
    expect((await tessera.cli(['users', 'set-roles', omar, 'admin'])).code).toBe(0);
    await page.fill('#delete_password', PASSWORD);
    await page.getByRole('button', { name: 'Delete account' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('You are the only administrator.');
    expect((await tessera.cli(['users', 'set-roles', omar])).code).toBe(0);
    await page.fill('#delete_password', PASSWORD);
    await page.getByRole('button', { name: 'Delete account' }).click();
    expect(await page.textContent('h1')).toBe('Your account has been deleted');
    await screenshot(page, 'account-deleted');
    await expect(oidc.refreshTokenGrant(signedIn.config, signedIn.refreshToken)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await page.goto(new URL('/account', tessera.issuer).href);
    expect(await page.textContent('h1')).toBe('Sign in to manage your account');
    // The account is gone: the same email can be registered again.
    const again = await tessera.cli(['users', 'create', '--email', 'omar@example.test', '--password-stdin'], PASSWORD);
    expect(again.code).toBe(0);
    await page.context().close();
  });
});
