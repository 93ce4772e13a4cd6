import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, Page, Response } from 'playwright-core';
import { type FakeGitHub, startFakeGitHub } from '../fixtures/fake-github.ts';
import { startUpstreamProvider, type UpstreamProvider, type UpstreamUser } from '../fixtures/upstream-provider.ts';
import { openAccount, signInToAccount } from '../support/account.ts';
import { screenshot } from '../support/browser.ts';
import { browserSuitePerFile, createClient, createUser } from '../support/browser-suite.ts';
import { cookieJar, csrfIn } from '../support/form-client.ts';
import {
  type ClientApp,
  consentIfAsked,
  enterPassword,
  finishAtClient,
  type StartedAuthorization,
  startAuthorization,
} from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * "Continue with Acme SSO" end to end: Chromium goes from Tessera's login page to a real OpenID
 * Provider (bare oidc-provider with its own login page, test/fixtures), signs in there and comes
 * back; an openid-client app redeems the code. First visits make accounts, later ones find them
 * by (connection, sub); an address that has an account is linked only with its password; an ID
 * token with another nonce or a forged signature, an upstream that is down and a disabled
 * connection each end on a page that says so, with no account made; an address in the
 * connection's domain goes there by itself; the upstream's MFA counts only when trusted.
 */
const PASSWORD = 'granite tulips whisper at dawn';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let upstream: UpstreamProvider;
let config: oidc.Configuration;
let clientId = '';
let connectionId = '';
let apiKey = '';
let page: Page;
let github: FakeGitHub | undefined;

const upstreamUser = (name: string, extra: Partial<UpstreamUser> = {}): UpstreamUser => ({
  username: name,
  password: `${name}-upstream-password`,
  sub: `sub-${name}`,
  email: `${name}@acme.example`,
  email_verified: true,
  name: `${name[0]?.toUpperCase()}${name.slice(1)} Upstream`,
  ...extra,
});

beforeAll(async () => {
  upstream = await startUpstreamProvider();
});

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  const created = (
    await tessera.cli(
      [
        'connections',
        'create',
        '--type',
        'oidc',
        '--name',
        'Acme SSO',
        '--issuer',
        upstream.issuer,
        '--client-id',
        upstream.clientId,
        '--client-secret-stdin',
        '--domain',
        'acme.example',
      ],
      upstream.clientSecret,
    )
  ).json<{ id: string; redirect_uri: string }>();
  connectionId = created.id;
  upstream.allowRedirectUris([created.redirect_uri]);
  ({ config, id: clientId } = await createClient({ tessera, app }, 'Acme Portal', 'spa'));
  apiKey = (await tessera.cli(['api-keys', 'create', '--name', 'test', '--role', 'admin'])).json<{ key: string }>().key;
});

afterEach(async () => {
  upstream.behave();
  upstream.proxy.restore();
  await page?.context().close();
});

afterAll(async () => {
  await upstream?.close();
  await github?.close();
});

/** A fresh browser (no session here or upstream) on a fresh page. */
async function freshPage(): Promise<Page> {
  await page?.context().close();
  page = await (await browser.newContext()).newPage();
  return page;
}

async function admin(path: string, init: RequestInit = {}) {
  const response = await fetch(new URL(path, tessera.issuer), {
    ...init,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
  });
  expect(response.status).toBeLessThan(300);
  return response.json() as Promise<{ items: Record<string, unknown>[]; total: number }>;
}

const userCount = async () => (await admin('/api/admin/users?limit=1')).total;
const auditEvents = async (type: string) => (await admin(`/api/admin/audit-events?type=${type}&limit=100`)).items;
const setConnection = (patch: Record<string, unknown>) =>
  admin(`/api/admin/connections/${connectionId}`, { method: 'PATCH', body: JSON.stringify(patch) });

/** Tessera's answer to the upstream's callback, relayed to the interaction: 303 onwards, or a page. */
const interactionCallback = (r: Response) =>
  r.url().includes('/interaction/') && r.url().includes(`/connections/${connectionId}/callback`);

/** From Tessera's login page through the upstream's own login page, as `user`; answers Tessera's answer to the callback. */
async function throughUpstream(user: UpstreamUser): Promise<Response> {
  await page.getByRole('button', { name: 'Continue with Acme SSO' }).click();
  await page.waitForURL((u) => u.href.startsWith(upstream.issuer));
  expect(await page.textContent('h1')).toBe('Upstream sign-in');
  await page.fill('input[name=username]', user.username);
  await page.fill('input[name=password]', user.password);
  const [landing] = await Promise.all([
    page.waitForResponse(interactionCallback),
    page.getByRole('button', { name: 'Sign in upstream' }).click(),
  ]);
  await page.waitForLoadState();
  return landing;
}

/** An app's sign-in done through the upstream; returns the ID token's claims. */
async function signInUpstream(user: UpstreamUser, client = config, params: Record<string, string> = {}) {
  await freshPage();
  upstream.addUser(user);
  const started = await startAuthorization(page, client, app, params);
  await throughUpstream(user);
  await consentIfAsked(page);
  return claimsAt(started, client);
}

async function claimsAt(started: StartedAuthorization, client = config) {
  const tokens = await finishAtClient(page, client, app, started);
  return tokens.claims() as Record<string, unknown>;
}

describe('Continue with an upstream connection', () => {
  it('is offered on the login and sign-up pages, makes an account on the first visit and finds it on the next', async () => {
    await freshPage();
    await startAuthorization(page, config, app);
    await screenshot(page, 'connections-login-page');
    await page.getByRole('link', { name: 'Create account' }).click();
    expect(await page.getByRole('button', { name: 'Continue with Acme SSO' }).isVisible()).toBe(true);

    const before = await userCount();
    const ada = upstreamUser('ada');
    const first = await signInUpstream(ada);
    expect(first).toMatchObject({ email: 'ada@acme.example', email_verified: true, name: 'Ada Upstream' });
    expect(first.amr).toEqual(['fed']);
    expect(await userCount()).toBe(before + 1);
    const [authenticated] = await auditEvents('upstream.authenticated');
    expect(authenticated?.details).toMatchObject({ connection_id: connectionId, upstream_amr: ['pwd'] });

    // Keyed by the upstream's sub: a new address there is still the same person here.
    const again = await signInUpstream({ ...ada, email: 'ada.lovelace@acme.example' });
    expect(again.sub).toBe(first.sub);
    expect(await userCount()).toBe(before + 1);
  });

  it('links an address that has an account only once its password is given', async () => {
    const local = await createUser(tessera, { username: 'grace', password: PASSWORD, email: 'grace@acme.example' });
    const grace = upstreamUser('grace', { sub: 'sub-grace-upstream' });
    upstream.addUser(grace);
    // Signed in elsewhere, and in this browser, whose session the link keeps (by username: her
    // address would go to Acme SSO by itself).
    const elsewhere = await openAccount(browser, tessera.issuer, 'grace', PASSWORD);
    await freshPage();
    await signInToAccount(page, tessera.issuer, 'grace', PASSWORD);
    const started = await startAuthorization(page, config, app, { prompt: 'login' });
    await throughUpstream(grace);
    expect(await page.textContent('#connection-link')).toContain('link your Acme SSO account');
    expect(await page.inputValue('#login')).toBe('grace@acme.example');
    await enterPassword(page, 'grace@acme.example', PASSWORD);
    await consentIfAsked(page);
    const claims = await claimsAt(started);
    expect(claims).toMatchObject({ sub: local.id, amr: ['fed', 'pwd'] });
    expect((await auditEvents('upstream.linked')).map((e) => e.user_id)).toContain(local.id);

    // A new way in ends the account's other sessions, as linking on /account does; this browser stays.
    await elsewhere.reload();
    expect(await elsewhere.textContent('h1')).toBe('Sign in to manage your account');
    await elsewhere.context().close();
    const ended = (await auditEvents('sessions.others_ended')).filter((e) => e.user_id === local.id);
    expect(ended.map((e) => (e.details as { after: string }).after)).toEqual(['upstream_linked']);
    await page.goto(new URL('/account', tessera.issuer).href);
    expect(await page.textContent('h1')).toBe('Your account');

    expect((await signInUpstream(grace)).sub).toBe(local.id);

    // The account page lists it.
    const account = await openAccount(browser, tessera.issuer, 'grace', PASSWORD);
    expect(await account.textContent('#connections-list')).toContain('Continue with Acme SSO signs you in as grace');
    await account.context().close();
  });

  it.each(['wrong_nonce', 'forged_signature'] as const)(
    'refuses an ID token with %s: a clear page, no account',
    async (how) => {
      const mallory = upstreamUser(`mallory-${how.replace('_', '-')}`);
      upstream.addUser(mallory);
      const before = await userCount();
      await freshPage();
      await startAuthorization(page, config, app);
      upstream.misbehave(how);
      const landing = await throughUpstream(mallory);
      expect(landing.status()).toBe(502);
      expect(await page.textContent('h1')).toBe('Acme SSO sign-in could not be verified');
      expect(await page.getByRole('link', { name: 'Back to sign in' }).isVisible()).toBe(true);
      expect(await userCount()).toBe(before);
      const failed = (await auditEvents('upstream.failed')).map((e) => e.details);
      expect(failed).toContainEqual({ connection_id: connectionId, reason: 'id_token_invalid' });
    },
  );

  it('says the upstream is not answering while it is down (503, Retry-After), and works once it is back', async () => {
    const linus = upstreamUser('linus');
    upstream.addUser(linus);
    // A changed connection is discovered afresh, which the cut proxy does not let through.
    await setConnection({ scopes: ['openid', 'email', 'profile'] });
    upstream.proxy.refuse();
    await freshPage();
    await startAuthorization(page, config, app);
    const [landing] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith(`/connections/${connectionId}`)),
      page.getByRole('button', { name: 'Continue with Acme SSO' }).click(),
    ]);
    expect(landing.status()).toBe(503);
    expect(landing.headers()['retry-after']).toBe('30');
    expect(await page.textContent('h1')).toBe('Acme SSO is not answering');
    await screenshot(page, 'connections-upstream-down');
    const failed = (await auditEvents('upstream.failed')).map((e) => e.details);
    expect(failed).toContainEqual({ connection_id: connectionId, reason: 'unavailable' });

    upstream.proxy.restore();
    expect((await signInUpstream(linus)).email).toBe('linus@acme.example');
  });

  it('goes to the connection by itself for an address in its domain, skipping the password', async () => {
    const hedy = upstreamUser('hedy');
    upstream.addUser(hedy);
    await freshPage();
    const started = await startAuthorization(page, config, app);
    await page.fill('#login', 'Hedy@Acme.Example');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForURL((u) => u.href.startsWith(upstream.issuer));
    await page.fill('input[name=username]', hedy.username);
    await page.fill('input[name=password]', hedy.password);
    await page.getByRole('button', { name: 'Sign in upstream' }).click();
    await consentIfAsked(page);
    expect(await claimsAt(started)).toMatchObject({ email: 'hedy@acme.example', amr: ['fed'] });
  });

  it('is gone from the pages once disabled, and a sign-in started before ends on a clear page', async () => {
    const alan = upstreamUser('alan');
    upstream.addUser(alan);
    await freshPage();
    await startAuthorization(page, config, app);
    await page.getByRole('button', { name: 'Continue with Acme SSO' }).click();
    await page.waitForURL((u) => u.href.startsWith(upstream.issuer));
    await setConnection({ enabled: false });
    try {
      await page.fill('input[name=username]', alan.username);
      await page.fill('input[name=password]', alan.password);
      const [landing] = await Promise.all([
        page.waitForResponse(interactionCallback),
        page.getByRole('button', { name: 'Sign in upstream' }).click(),
      ]);
      expect(landing.status()).toBe(404);
      expect(await page.textContent('h1')).toBe('This sign-in option is not available');
      await page.getByRole('link', { name: 'Back to sign in' }).click();
      expect(await page.getByRole('button', { name: 'Sign in', exact: true }).isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: 'Continue with Acme SSO' }).count()).toBe(0);
      // Nor does its domain take anyone there.
      await page.fill('#login', 'alan@acme.example');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      expect(await page.textContent('#form-error')).toContain('Enter your email or username and your password');
    } finally {
      await setConnection({ enabled: true });
    }
  });

  it('lets the upstream’s second factor satisfy a client that requires MFA only when the connection trusts it', async () => {
    const strict = (await createClient({ tessera, app }, 'Payroll', 'spa', '--require-mfa')).config;
    const barbara = upstreamUser('barbara', { amr: ['pwd', 'mfa'], acr: 'mfa' });
    upstream.addUser(barbara);

    await freshPage();
    await startAuthorization(page, strict, app, { scope: 'openid' });
    await throughUpstream(barbara);
    expect(await page.textContent('h1')).toBe('Set up two-step verification');

    await setConnection({ trust_upstream_mfa: true });
    try {
      const claims = await signInUpstream(barbara, strict, { scope: 'openid' });
      expect(claims).toMatchObject({ amr: ['fed', 'mfa'], acr: 'urn:tessera:acr:mfa' });
      const [authenticated] = await auditEvents('upstream.authenticated');
      expect(authenticated?.details).toMatchObject({
        upstream_amr: ['pwd', 'mfa'],
        upstream_acr: 'mfa',
        trusted_mfa: true,
      });
    } finally {
      await setConnection({ trust_upstream_mfa: false });
    }
  });

  it('works the same for a GitHub Enterprise an operator connected', async () => {
    github = await startFakeGitHub();
    const connected = (
      await tessera.cli(
        [
          'connections',
          'create',
          '--type',
          'github',
          '--name',
          'GitHub Acme',
          '--base-url',
          github.baseUrl,
          '--api-url',
          github.apiUrl,
          '--client-id',
          github.clientId,
          '--client-secret-stdin',
        ],
        github.clientSecret,
      )
    ).json<{ id: string; redirect_uri: string }>();
    expect(connected.redirect_uri).toBe(`${tessera.issuer}/connections/${connected.id}/callback`);
    github.signIn({
      id: 4242,
      login: 'margaret',
      name: 'Margaret Hamilton',
      emails: [{ email: 'margaret@apollo.example', primary: true, verified: true }],
    });
    await freshPage();
    const started = await startAuthorization(page, config, app);
    await page.getByRole('button', { name: 'Continue with GitHub Acme' }).click();
    await page.getByRole('button', { name: 'Authorize' }).click();
    await consentIfAsked(page);
    expect(await claimsAt(started)).toMatchObject({
      email: 'margaret@apollo.example',
      preferred_username: 'margaret',
      amr: ['fed'],
    });
    expect(github.authorizeRequests.at(-1)?.get('redirect_uri')).toBe(connected.redirect_uri);
  });

  it('unlinks its identities when pointed at another issuer, whose same sub is someone else', async () => {
    const kai = upstreamUser('kai', { sub: 'sub-shared-42' });
    const first = await signInUpstream(kai);
    expect(first.email).toBe('kai@acme.example');

    // The operator moves the connection to another provider, where the same sub is a stranger.
    const other = await startUpstreamProvider();
    try {
      await setConnection({ issuer: other.issuer, client_id: other.clientId, client_secret: other.clientSecret });
      const [moved] = await auditEvents('connection.updated');
      const details = (moved?.details ?? {}) as { fields?: string[]; identities_unlinked?: number };
      expect(details.fields).toContain('issuer');
      expect(details.identities_unlinked).toBeGreaterThan(0);
      other.allowRedirectUris([`${tessera.issuer}/connections/${connectionId}/callback`]);
      const stranger = { ...upstreamUser('mallory', { sub: 'sub-shared-42' }), email: 'mallory@elsewhere.example' };
      other.addUser(stranger);
      await freshPage();
      const started = await startAuthorization(page, config, app);
      await page.getByRole('button', { name: 'Continue with Acme SSO' }).click();
      await page.waitForURL((u) => u.href.startsWith(other.issuer));
      await page.fill('input[name=username]', stranger.username);
      await page.fill('input[name=password]', stranger.password);
      await page.getByRole('button', { name: 'Sign in upstream' }).click();
      await consentIfAsked(page);
      const claims = await claimsAt(started);
      expect(claims.sub).not.toBe(first.sub);
      expect(claims.email).toBe('mallory@elsewhere.example');
    } finally {
      await setConnection({
        issuer: upstream.issuer,
        client_id: upstream.clientId,
        client_secret: upstream.clientSecret,
      });
      await other.close();
    }
  });

  it('lets one of 100 simultaneous replays of the upstream’s answer through, and no other', async () => {
    const ruth = upstreamUser('ruth');
    upstream.addUser(ruth);
    // Two cookie jars, as a browser keeps cookies per site: Tessera's and the upstream's.
    const here = cookieJar();
    const there = cookieJar();
    const auth = new URL('/auth', tessera.issuer);
    auth.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: app.redirectUri,
      scope: 'openid',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    }).toString();
    const interaction = new URL((await here(auth)).headers.get('location') ?? '', tessera.issuer);
    const csrf = csrfIn(await (await here(interaction)).text()) ?? '';
    const start = await here(new URL(`${interaction.pathname}/connections/${connectionId}`, tessera.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
    });
    let res = await there(start.headers.get('location') ?? '');
    const login = new URL(res.headers.get('location') ?? '', upstream.issuer);
    await there(login);
    res = await there(login, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: ruth.username, password: ruth.password }).toString(),
    });
    res = await there(new URL(res.headers.get('location') ?? '', upstream.issuer));
    const relayed = await here(res.headers.get('location') ?? '');
    const callback = new URL(relayed.headers.get('location') ?? '', tessera.issuer);
    expect(callback.pathname).toBe(`${interaction.pathname}/connections/${connectionId}/callback`);

    const answers = await Promise.all(Array.from({ length: 100 }, () => here(callback)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 303)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(99);
    const refused = await answers.find((a) => a.status === 400)?.text();
    expect(refused).toContain('This Acme SSO sign-in is not valid');
  });
});
