import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { type FakeGitHub, type GitHubUser, githubEnv, OCTOCAT, startFakeGitHub } from '../fixtures/fake-github.ts';
import { enrolTotp, openAccount, signInToAccount, totpCode } from '../support/account.ts';
import { freshPagePerTest, screenshot } from '../support/browser.ts';
import { browserSuitePerFile } from '../support/browser-suite.ts';
import {
  type ClientApp,
  consentIfAsked,
  finishAtClient,
  relyingParty,
  type StartedAuthorization,
  startAuthorization,
} from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * "Continue with GitHub" end to end: Chromium clicks through Tessera's pages and a fake GitHub
 * (test/fixtures) that speaks GitHub's real OAuth endpoints and JSON, and an openid-client app
 * redeems the code. First visits create accounts, later ones find them by GitHub's numeric id,
 * an address that already has an account is only linked with that account's password, and
 * every failure ends on a page with a way back, audited, with no account made.
 */
const PASSWORD = 'granite tulips whisper at dawn';

let tessera: RunningTessera;
let github: FakeGitHub;
let browser: Browser;
let app: ClientApp;
let context: BrowserContext;
let page: Page;
let config: oidc.Configuration;
let apiKey = '';

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
  const spa = (
    await tessera.cli(['clients', 'create', '--name', 'Octo App', '--type', 'spa', '--redirect-uri', app.redirectUri])
  ).json<{ client_id: string }>();
  config = await relyingParty(tessera.issuer, spa.client_id);
  apiKey = (await tessera.cli(['api-keys', 'create', '--name', 'test', '--role', 'admin'])).json<{ key: string }>().key;
  // A local account already holds GitHub's login as its username, so the new one gets another.
  for (const [email, username] of [
    ['someone@example.test', 'octocat'],
    ['ada@example.test', 'ada'],
    ['grace@example.test', 'grace'],
    ['plain@example.test', 'plain'],
    ['linus@example.test', 'linus'],
  ]) {
    await tessera.cli(['users', 'create', '--email', email, '--username', username, '--password-stdin'], PASSWORD);
  }
});

freshPagePerTest(
  () => browser,
  (c, p) => {
    context = c;
    page = p;
  },
);

afterEach(() => github.reset());

afterAll(async () => {
  await github?.close();
});

async function admin(path: string) {
  const response = await fetch(new URL(path, tessera.issuer), { headers: { authorization: `Bearer ${apiKey}` } });
  expect(response.status).toBe(200);
  return response.json() as Promise<{ items: Record<string, unknown>[]; total: number }>;
}

const userCount = async () => (await admin('/api/admin/users?limit=1')).total;
const auditEvents = async (type: string) => (await admin(`/api/admin/audit-events?type=${type}&limit=100`)).items;

/** From Tessera's login page to GitHub's authorize page. */
async function continueWithGitHub() {
  await page.getByRole('button', { name: 'Continue with GitHub' }).click();
  await page.waitForURL((u) => u.href.startsWith(github.baseUrl));
  expect(await page.textContent('h1')).toBe('Authorize Tessera');
}

async function authorizeAtGitHub() {
  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL((u) => !u.href.startsWith(github.baseUrl));
}

/** An app's sign-in, through GitHub as `user` and back to Tessera, wherever that leads. */
async function backFromGitHub(user: GitHubUser, params: Record<string, string> = {}) {
  github.signIn(user);
  const started = await startAuthorization(page, config, app, params);
  await continueWithGitHub();
  await authorizeAtGitHub();
  return started;
}

/** An app's sign-in done entirely through GitHub; returns the ID token's claims. */
async function signInWithGitHub(user: GitHubUser) {
  const started = await backFromGitHub(user);
  await consentIfAsked(page);
  return claimsAt(started);
}

/** A GitHub account whose one address is verified and primary. */
const gitHubUser = (id: number, login: string, email: string, name: string | null = null): GitHubUser => ({
  id,
  login,
  name,
  emails: [{ email, primary: true, verified: true }],
});

async function claimsAt(started: StartedAuthorization) {
  const tokens = await finishAtClient(page, config, app, started);
  return tokens.claims() as Record<string, unknown>;
}

async function userId(email: string) {
  const { items } = await admin(`/api/admin/users?q=${encodeURIComponent(email)}`);
  return items.map((u) => u.id);
}

describe('Continue with GitHub', () => {
  it('is offered on the login and sign-up pages', async () => {
    await startAuthorization(page, config, app);
    expect(await page.getByRole('button', { name: 'Continue with GitHub' }).isVisible()).toBe(true);
    await screenshot(page, 'github-login-page');
    await page.getByRole('link', { name: 'Create account' }).click();
    expect(await page.textContent('h1')).toBe('Create account');
    expect(await page.getByRole('button', { name: 'Continue with GitHub' }).isVisible()).toBe(true);
  });

  it('creates an account on the first visit from GitHub’s verified primary email', async () => {
    const before = await userCount();
    const claims = await signInWithGitHub(OCTOCAT);

    const authorize = github.authorizeRequests.at(-1);
    expect(authorize?.get('scope')).toBe('read:user user:email');
    expect(authorize?.get('code_challenge_method')).toBe('S256');
    expect(authorize?.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(authorize?.get('redirect_uri')).toBe(`${tessera.issuer}/github/callback`);
    expect(github.tokenRequests.at(-1)?.body.get('code_verifier')).toMatch(/^[\w-]{43,128}$/);

    expect(claims).toMatchObject({
      email: 'octocat@example.test',
      email_verified: true,
      name: 'The Octocat',
      preferred_username: 'octocat-2',
      amr: ['fed'],
    });
    expect(await userCount()).toBe(before + 1);
    expect(await userId('octocat@example.test')).toEqual([claims.sub]);
    const signup = (await auditEvents('signup')).find((e) => e.user_id === claims.sub);
    expect(signup?.details).toMatchObject({ via: 'github', github_id: String(OCTOCAT.id) });
    // GitHub's access token is used for two calls and goes nowhere else.
    expect(tessera.logs()).not.toMatch(/gho_/);
  });

  it('signs in to the same account on a later visit, also after a rename at GitHub', async () => {
    const first = await userId('octocat@example.test');
    const before = await userCount();
    const claims = await signInWithGitHub({ ...OCTOCAT, login: 'octocat-renamed' });
    expect(claims.sub).toBe(first[0]);
    expect(claims.preferred_username).toBe('octocat-2');
    expect(await userCount()).toBe(before);
  });

  it('links an existing account only after its password, then signs in to it directly', async () => {
    const [ada] = await userId('ada@example.test');
    const adaAtGitHub: GitHubUser = gitHubUser(1815, 'lovelace', 'ada@example.test', 'Ada Lovelace');
    const elsewhere = await openAccount(browser, tessera.issuer, 'ada', PASSWORD);
    // This browser is signed in as Ada too: the link keeps its session.
    await signInToAccount(page, tessera.issuer, 'ada', PASSWORD);
    const started = await backFromGitHub(adaAtGitHub, { prompt: 'login' });
    expect(await page.textContent('h1')).toBe('Sign in');
    expect(await page.textContent('#github-link')).toContain('An account with ada@example.test already exists');
    expect(await page.inputValue('#login')).toBe('ada@example.test');
    await screenshot(page, 'github-link-asks-password');

    await page.fill('#password', 'not the password at all');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    expect(await page.getByRole('alert').textContent()).toContain('Incorrect email, username or password.');
    expect(await page.textContent('#github-link')).toContain('@lovelace');
    expect(await auditEvents('github.linked')).toHaveLength(0);

    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await consentIfAsked(page);
    const linking = await claimsAt(started);
    expect(linking).toMatchObject({ sub: ada, amr: ['fed', 'pwd'] });
    expect((await auditEvents('github.linked')).map((e) => e.user_id)).toEqual([ada]);
    // A new way in ends the account's other sessions, as linking on /account does; this browser stays.
    await elsewhere.reload();
    expect(await elsewhere.textContent('h1')).toBe('Sign in to manage your account');
    await elsewhere.context().close();
    const ended = (await auditEvents('sessions.others_ended')).filter((e) => e.user_id === ada);
    expect(ended.map((e) => (e.details as { after: string }).after)).toEqual(['github_linked']);
    await page.goto(new URL('/account', tessera.issuer).href);
    expect(await page.textContent('h1')).toBe('Your account');

    await context.clearCookies();
    const later = await signInWithGitHub(adaAtGitHub);
    expect(later).toMatchObject({ sub: ada, amr: ['fed'], email: 'ada@example.test' });
  });

  it('links nothing when someone else’s account is signed in to from the linking page', async () => {
    const [plain] = await userId('plain@example.test');
    const started = await backFromGitHub(gitHubUser(1816, 'not-plain', 'grace@example.test'));
    expect(await page.textContent('#github-link')).toContain('grace@example.test');
    await page.fill('#login', 'plain');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await consentIfAsked(page);
    expect(await claimsAt(started)).toMatchObject({ sub: plain, amr: ['pwd'] });
    const linked = (await auditEvents('github.linked')).map((e) => e.user_id);
    expect(linked).not.toContain(plain);
  });

  it('asks for the second factor after GitHub when one is enrolled', async () => {
    const account = await openAccount(browser, tessera.issuer, 'ada@example.test', PASSWORD);
    const { secret } = await enrolTotp(account, PASSWORD);
    await account.context().close();

    const started = await backFromGitHub(gitHubUser(1815, 'lovelace', 'ada@example.test', 'Ada Lovelace'));
    expect(await page.textContent('h1')).toBe('Two-step verification');
    // The step has a page of its own: a reload shows it again rather than replaying GitHub's answer.
    await page.reload();
    expect(await page.textContent('h1')).toBe('Two-step verification');
    await page.fill('#code', await totpCode(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await consentIfAsked(page);
    expect((await claimsAt(started)).amr).toEqual(['fed', 'otp']);
  });

  it('creates the account from the sign-up page too (prompt=create)', async () => {
    github.signIn(gitHubUser(7001, 'newcomer', 'newcomer@example.test', 'New Comer'));
    const started = await startAuthorization(page, config, app, { prompt: 'create' });
    expect(await page.textContent('h1')).toBe('Create account');
    await continueWithGitHub();
    await authorizeAtGitHub();
    await consentIfAsked(page);
    expect(await claimsAt(started)).toMatchObject({ email: 'newcomer@example.test', amr: ['fed'] });
  });

  it('links an account with MFA only once its second factor is given too', async () => {
    await tessera.cli(['users', 'create', '--email', 'careful@example.test', '--password-stdin'], PASSWORD);
    const [careful] = await userId('careful@example.test');
    const account = await openAccount(browser, tessera.issuer, 'careful@example.test', PASSWORD);
    const { secret } = await enrolTotp(account, PASSWORD);
    await account.context().close();

    const started = await backFromGitHub(gitHubUser(7002, 'careful', 'careful@example.test'));
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    expect(await page.textContent('h1')).toBe('Two-step verification');
    expect((await auditEvents('github.linked')).map((e) => e.user_id)).not.toContain(careful);
    await page.fill('#code', await totpCode(secret, 1));
    await page.getByRole('button', { name: 'Verify' }).click();
    await consentIfAsked(page);
    expect(await claimsAt(started)).toMatchObject({ sub: careful, amr: ['fed', 'pwd', 'otp'] });
    expect((await auditEvents('github.linked')).map((e) => e.user_id)).toContain(careful);
  });
});

describe('GitHub on /account', () => {
  const hopper: GitHubUser = gitHubUser(1906, 'grace-hopper', 'grace@navy.test', 'Grace Hopper');

  /** Link GitHub on `account`'s page, the password typed, as far as GitHub's authorize page. */
  async function startLink(account: Page) {
    await account.fill('#github_link_password', PASSWORD);
    await account.getByRole('button', { name: 'Link GitHub' }).click();
  }

  it('links GitHub to a password account, shows since when, and unlinks it', async () => {
    const [grace] = await userId('grace@example.test');
    const account = await openAccount(browser, tessera.issuer, 'grace', PASSWORD);
    const elsewhere = await openAccount(browser, tessera.issuer, 'grace', PASSWORD);
    expect(await account.textContent('#github-status')).toContain('Not linked');
    github.signIn(hopper);
    await startLink(account);
    await account.getByRole('button', { name: 'Authorize' }).click();
    await account.waitForURL((u) => u.pathname === '/account');
    expect(await account.getByRole('status').textContent()).toContain('Your GitHub account is linked');
    // A new way in signs every other browser out, as any change of how the account signs in does.
    await elsewhere.reload();
    expect(await elsewhere.textContent('h1')).toBe('Sign in to manage your account');
    await elsewhere.context().close();
    const status = await account.textContent('#github-status');
    expect(status).toContain('Linked to @grace-hopper since');
    expect(status).toContain(String(new Date().getUTCFullYear()));
    await screenshot(account, 'github-account-linked');
    expect((await auditEvents('github.linked')).map((e) => e.user_id)).toContain(grace);

    // The linked identity now signs in to this account, whatever GitHub's email says.
    expect(await signInWithGitHub(hopper)).toMatchObject({ sub: grace, amr: ['fed'] });

    await account.fill('#github_unlink_password', PASSWORD);
    await account.getByRole('button', { name: 'Unlink GitHub' }).click();
    expect(await account.getByRole('status').textContent()).toContain('GitHub is no longer linked');
    expect(await account.textContent('#github-status')).toContain('Not linked');
    expect((await auditEvents('github.unlinked')).map((e) => e.user_id)).toEqual([grace]);

    // An identity already linked to someone else is refused, and stays where it was.
    github.signIn(OCTOCAT);
    await startLink(account);
    await account.getByRole('button', { name: 'Authorize' }).click();
    await account.waitForURL((u) => u.pathname === '/account/github/callback');
    expect(await account.textContent('#github-error')).toContain('already linked');
    expect(await account.textContent('#github-status')).toContain('Not linked');
    await account.context().close();
  });

  it('says so on the account page when the person cancels at GitHub', async () => {
    const account = await openAccount(browser, tessera.issuer, 'plain', PASSWORD);
    github.signIn(hopper);
    await startLink(account);
    await account.getByRole('button', { name: 'Cancel' }).click();
    await account.waitForURL((u) => u.pathname === '/account/github/callback');
    expect(await account.textContent('#github-error')).toContain('You cancelled at GitHub');
    expect(await account.textContent('#github-status')).toContain('Not linked');
    const [plain] = await userId('plain@example.test');
    const failed = (await auditEvents('github.failed')).find((e) => e.user_id === plain);
    expect(failed?.details).toMatchObject({ reason: 'access_denied', during: 'account' });
    await account.context().close();
  });

  it('links nothing when another account signs in while GitHub is asking', async () => {
    const account = await openAccount(browser, tessera.issuer, 'plain', PASSWORD);
    github.signIn(hopper);
    await startLink(account);
    expect(await account.textContent('h1')).toBe('Authorize Tessera');

    // Meanwhile, in another tab of the same browser: sign out, and sign in as someone else.
    const tab = await account.context().newPage();
    await tab.goto(new URL('/session/end', tessera.issuer).href);
    await tab.getByRole('button', { name: /sign out/i }).click();
    await tab.goto(new URL('/account/sign-in', tessera.issuer).href);
    await tab.fill('#login', 'grace');
    await tab.fill('#password', PASSWORD);
    await tab.getByRole('button', { name: 'Sign in', exact: true }).click();
    await tab.waitForURL((u) => u.pathname === '/account');

    await account.getByRole('button', { name: 'Authorize' }).click();
    await account.waitForURL((u) => u.pathname === '/account/github/callback');
    expect(await account.textContent('.lead')).toContain('grace@example.test');
    expect(await account.textContent('#github-error')).toContain('does not belong to a sign-in started');
    expect(await account.textContent('#github-status')).toContain('Not linked');
    await account.context().close();
  });

  it('refuses to unlink GitHub from an account with no password until one is set', async () => {
    github.signIn(OCTOCAT);
    await page.goto(new URL('/account', tessera.issuer).href);
    await page.getByRole('link', { name: 'Sign in', exact: true }).click();
    await continueWithGitHub();
    await authorizeAtGitHub();
    await page.waitForURL((u) => u.pathname === '/account');
    // Shown as GitHub named it at this sign-in: the earlier rename has been undone there.
    expect(await page.textContent('#github-status')).toContain('Linked to @octocat since');
    expect(await page.textContent('#no-password')).toContain('You sign in with GitHub');

    await page.getByRole('button', { name: 'Unlink GitHub' }).click();
    expect(await page.textContent('#github-error')).toContain('GitHub is the only way you sign in');
    expect(await page.textContent('#github-status')).toContain('Linked to @octocat since');

    await page.fill('#new_password', 'a fresh password for octocat');
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.getByRole('status').textContent()).toContain('Your password is set');
    await page.fill('#github_unlink_password', 'a fresh password for octocat');
    await page.getByRole('button', { name: 'Unlink GitHub' }).click();
    expect(await page.textContent('#github-status')).toContain('Not linked');
  });
});

describe('GitHub on /account, with only a copy of the session cookie', () => {
  const mallory: GitHubUser = gitHubUser(6660, 'mallory', 'mallory@evil.test');

  /** A fresh browser holding nothing but copies of `victim`'s cookies, on the account page. */
  async function thiefOf(victim: Page): Promise<Page> {
    const thief = await (await browser.newContext()).newPage();
    await thief.context().addCookies(await victim.context().cookies());
    await thief.goto(new URL('/account', tessera.issuer).href);
    expect(await thief.textContent('h1')).toBe('Your account');
    return thief;
  }

  it("cannot link the thief's own GitHub, nor unlink the owner's, without the password", async () => {
    const [linus] = await userId('linus@example.test');
    const victim = await openAccount(browser, tessera.issuer, 'linus', PASSWORD);
    const thief = await thiefOf(victim);
    github.signIn(mallory);

    // Without the password, or with a guess, the link never reaches GitHub.
    for (const guess of ['', 'password123']) {
      await thief.fill('#github_link_password', guess);
      await thief.getByRole('button', { name: 'Link GitHub' }).click();
      expect(new URL(thief.url()).origin).toBe(new URL(tessera.issuer).origin);
      expect(await thief.textContent('#github-error')).toBe('Your current password is not right.');
      expect(await thief.textContent('#github-status')).toContain('Not linked');
    }
    expect((await auditEvents('github.linked')).map((e) => e.user_id)).not.toContain(linus);
    expect((await auditEvents('password.check_failed')).filter((e) => e.user_id === linus)).toHaveLength(2);

    // Mallory's GitHub is no way into Linus's account: it makes an account of its own.
    const claims = await signInWithGitHub(mallory);
    expect(claims.sub).not.toBe(linus);
    expect(claims.email).toBe('mallory@evil.test');

    // Once the owner has linked GitHub, the copy cannot unlink it either.
    github.signIn(gitHubUser(1991, 'torvalds', 'linus@example.test'));
    await victim.reload();
    await victim.fill('#github_link_password', PASSWORD);
    await victim.getByRole('button', { name: 'Link GitHub' }).click();
    await victim.getByRole('button', { name: 'Authorize' }).click();
    await victim.waitForURL((u) => u.pathname === '/account');
    expect(await victim.textContent('#github-status')).toContain('Linked to @torvalds');
    // The copy is of the session that linked, so it is still signed in; it still cannot unlink.
    await thief.reload();
    await thief.getByRole('button', { name: 'Unlink GitHub' }).click();
    expect(await thief.textContent('#github-error')).toBe('Your current password is not right.');
    expect(await thief.textContent('#github-status')).toContain('Linked to @torvalds');
    expect((await auditEvents('github.unlinked')).map((e) => e.user_id)).not.toContain(linus);
    for (const p of [victim, thief]) await p.context().close();
  });
});

describe('when GitHub sign-in fails', () => {
  /** The failure page for `reason`: its words, its way back to the same sign-in, and its audit row. */
  async function expectFailure(heading: string, reason: string) {
    expect(await page.textContent('h1')).toBe(heading);
    const events = await auditEvents('github.failed');
    expect(events.at(0)?.details).toMatchObject({ reason });
    await page.getByRole('link', { name: 'Back to sign in' }).click();
    expect(await page.textContent('h1')).toBe('Sign in');
  }

  it('says so when the person cancels at GitHub, and the sign-in can go on with a password', async () => {
    const before = await userCount();
    github.signIn({ ...OCTOCAT, id: 9001, login: 'canceller' });
    const started = await startAuthorization(page, config, app);
    await continueWithGitHub();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL((u) => !u.href.startsWith(github.baseUrl));
    expect(await page.textContent('.lead')).toContain('You cancelled at GitHub');
    await screenshot(page, 'github-cancelled');
    await expectFailure('GitHub sign-in cancelled', 'access_denied');

    await page.fill('#login', 'plain');
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await consentIfAsked(page);
    expect((await claimsAt(started)).amr).toEqual(['pwd']);
    expect(await userCount()).toBe(before);
  });

  it('refuses a callback whose state this browser did not start', async () => {
    github.signIn(OCTOCAT);
    await startAuthorization(page, config, app);
    await continueWithGitHub();
    const state = github.authorizeRequests.at(-1)?.get('state') ?? '';
    const [uid] = state.split('.');
    const forged = new URL('/github/callback', tessera.issuer);
    forged.search = new URLSearchParams({ code: 'not-a-code', state: `${uid}.forged` }).toString();
    const tokenRequests = github.tokenRequests.length;
    const response = await page.goto(forged.href);
    expect(response?.status()).toBe(400);
    await expectFailure('This GitHub sign-in is not valid', 'state_mismatch');
    expect(github.tokenRequests.length).toBe(tokenRequests);
  });

  it('refuses a replayed callback', async () => {
    // The address belongs to a password account, so the sign-in stays open on the login page.
    await backFromGitHub(gitHubUser(9002, 'plain-gh', 'plain@example.test'));
    expect(await page.textContent('#github-link')).toContain('plain@example.test');
    const tokenRequests = github.tokenRequests.length;
    const response = await page.goto(github.redirects.at(-1) ?? '');
    expect(response?.status()).toBe(400);
    await expectFailure('This GitHub sign-in is not valid', 'state_mismatch');
    expect(github.tokenRequests.length).toBe(tokenRequests);
  });

  it.each([
    ['token', 503],
    ['user', 500],
    ['emails', 502],
  ] as const)('says GitHub is not answering when its %s endpoint answers %i', async (endpoint, status) => {
    const before = await userCount();
    github.misbehave(endpoint, status);
    await backFromGitHub({ ...OCTOCAT, id: 9100 + status, login: `down-${status}` });
    expect(await page.textContent('.lead')).toContain('GitHub is not answering right now');
    await expectFailure('GitHub is not answering', 'unavailable');
    expect(await userCount()).toBe(before);
  });

  it('gives up on GitHub after a few seconds without an answer', async () => {
    const before = await userCount();
    github.signIn({ ...OCTOCAT, id: 9200, login: 'slow' });
    github.misbehave('user', 'hang');
    await startAuthorization(page, config, app);
    await continueWithGitHub();
    const clicked = Date.now();
    await authorizeAtGitHub();
    expect(Date.now() - clicked).toBeLessThan(15_000);
    await screenshot(page, 'github-timeout');
    await expectFailure('GitHub is not answering', 'timeout');
    expect(await userCount()).toBe(before);
  });

  it('does not offer to link when the address’s account has a different GitHub linked', async () => {
    // ada@example.test is linked to GitHub user 1815 by now; this is another GitHub account.
    await backFromGitHub(gitHubUser(1999, 'ada-impostor', 'ada@example.test'));
    expect(await page.textContent('h1')).toBe('Sign in');
    expect(await page.getByRole('alert').textContent()).toContain('linked to a different GitHub account');
    expect(await page.locator('#github-link').count()).toBe(0);
    const failed = await auditEvents('github.failed');
    expect(failed.at(0)?.details).toMatchObject({ reason: 'linked_elsewhere' });
  });

  it('refuses the account linked to GitHub when it has been disabled', async () => {
    const disabled: GitHubUser = gitHubUser(9400, 'leaver', 'leaver@example.test');
    expect((await signInWithGitHub(disabled)).email).toBe('leaver@example.test');
    const [leaver] = await userId('leaver@example.test');
    expect((await tessera.cli(['users', 'disable', String(leaver)])).code).toBe(0);
    await context.clearCookies();
    await backFromGitHub(disabled);
    await expectFailure('This account has been disabled', 'account_disabled');
  });

  it('refuses a GitHub account without a verified email, making no account', async () => {
    const before = await userCount();
    await backFromGitHub({
      id: 9300,
      login: 'unverified',
      name: 'Not Verified',
      emails: [
        { email: 'unverified@example.test', primary: true, verified: false },
        { email: 'other@example.test', primary: false, verified: false },
      ],
    });
    expect(await page.textContent('.lead')).toContain('Verify an email address at GitHub');
    await screenshot(page, 'github-no-verified-email');
    await expectFailure('Your GitHub account has no verified email', 'no_verified_email');
    expect(await userCount()).toBe(before);
    expect(await userId('unverified@example.test')).toEqual([]);
  });
});
