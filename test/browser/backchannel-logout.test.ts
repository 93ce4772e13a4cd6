import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as jose from 'jose';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { openAccount } from '../support/account.ts';
import { launchBrowser } from '../support/browser.ts';
import { type LogoutReceiver, startLogoutReceiver } from '../support/logout-receiver.ts';
import { type ClientApp, relyingParty, signInThroughPages, startClientApp } from '../support/oidc-flow.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { auditEvents, eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * OpenID Connect Back-Channel Logout: when a person's session ends, every app they signed in to
 * through it, that registered a back-channel logout URI, receives a logout token signed by Tessera
 * (iss, aud, the logout event, sub and sid, no nonce). Four ways end a session: signing out at
 * /session/end, "Sign out everywhere" on /account, an operator disabling the user, a password
 * reset. An app that is down never slows the sign-out; it gets its token once it is back.
 */
const PASSWORD = 'gulls argue over the harbour wall';
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

interface App {
  id: string;
  config: oidc.Configuration;
  path: string;
}

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let smtp: TestSmtp;
let receiver: LogoutReceiver;
let proxy: TcpProxy;
let jwks: ReturnType<typeof jose.createRemoteJWKSet>;
let harbour: App;
let quay: App;
let pier: App;
const users: Record<string, string> = {};

async function createApp(name: string, path: string, logoutUri: string): Promise<App> {
  const args = ['clients', 'create', '--name', name, '--type', 'web', '--redirect-uri', app.redirectUri];
  const created = (await tessera.cli([...args, '--backchannel-logout-uri', logoutUri])).json<{
    client_id: string;
    client_secret: string;
    backchannel_logout_uri: string;
  }>();
  expect(created.backchannel_logout_uri).toBe(logoutUri);
  return {
    id: created.client_id,
    config: await relyingParty(tessera.issuer, created.client_id, created.client_secret),
    path,
  };
}

beforeAll(async () => {
  [smtp, receiver, browser, app] = await Promise.all([
    startTestSmtp(),
    startLogoutReceiver(),
    launchBrowser(),
    startClientApp(),
  ]);
  proxy = await startTcpProxy({ host: '127.0.0.1', port: receiver.port });
  tessera = await startTessera({ SMTP_URL: smtp.url, MAIL_FROM: 'Tessera <auth@tessera.test>' });
  jwks = jose.createRemoteJWKSet(new URL('/jwks', tessera.issuer));
  harbour = await createApp('Harbour Notes', '/harbour', receiver.url('/harbour'));
  quay = await createApp('Quay Calendar', '/quay', receiver.url('/quay'));
  // Pier Radio's endpoint sits behind a proxy the test can take down.
  pier = await createApp('Pier Radio', '/pier', `http://127.0.0.1:${proxy.port}/pier`);
  for (const username of ['ana', 'ben', 'cleo', 'dev', 'eli']) {
    const args = ['users', 'create', '--email', `${username}@example.test`, '--username', username, '--password-stdin'];
    users[username] = (await tessera.cli(args, PASSWORD)).json<{ id: string }>().id;
  }
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await tessera?.dispose();
  await proxy?.close();
  await receiver?.close();
  await smtp?.close();
});

/** Signs `username` in to `to` in this page's browser session; answers the ID token's sid. */
async function signIn(page: Page, to: App, username: string): Promise<string> {
  const { tokens } = await signInThroughPages(page, to.config, { app, login: username, password: PASSWORD });
  const sid = tokens?.claims()?.sid;
  expect(sid).toEqual(expect.any(String));
  return String(sid);
}

/** The logout token `to` receives for `username`, verified as an app must (§2.6). */
async function logoutTokenFor(to: App, username: string): Promise<jose.JWTPayload> {
  const token = await receiver.waitFor(to.path, async (t) => jose.decodeJwt(t).sub === users[username]);
  const { payload } = await jose.jwtVerify(token, jwks, {
    issuer: tessera.issuer,
    audience: to.id,
    typ: 'logout+jwt',
    maxTokenAge: '5 minutes',
  });
  expect(payload.events).toEqual({ [LOGOUT_EVENT]: {} });
  expect(payload.nonce).toBeUndefined();
  expect(payload.jti).toEqual(expect.any(String));
  return payload;
}

describe('back-channel logout', () => {
  it('tells each app of the session when the person signs out at /session/end', async () => {
    const page = await (await browser.newContext()).newPage();
    const harbourSid = await signIn(page, harbour, 'ana');
    const quaySid = await signIn(page, quay, 'ana');
    await page.goto(oidc.buildEndSessionUrl(harbour.config, { client_id: harbour.id }).href);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForSelector('h1');

    expect(await logoutTokenFor(harbour, 'ana')).toMatchObject({ sub: users.ana, sid: harbourSid });
    expect(await logoutTokenFor(quay, 'ana')).toMatchObject({ sub: users.ana, sid: quaySid });
    await page.context().close();
  });

  it('tells the apps when the person signs out everywhere on /account', async () => {
    const page = await openAccount(browser, tessera.issuer, 'ben', PASSWORD);
    const sid = await signIn(page, harbour, 'ben');
    await page.goto(new URL('/account', tessera.issuer).href);
    await page.getByRole('button', { name: 'Sign out everywhere' }).click();
    expect(await page.textContent('h1')).toBe('You are signed out everywhere');

    expect(await logoutTokenFor(harbour, 'ben')).toMatchObject({ sub: users.ben, sid });
    await page.context().close();
  });

  it('tells the apps when an operator disables the user with the CLI', async () => {
    const page = await (await browser.newContext()).newPage();
    const sid = await signIn(page, quay, 'cleo');
    (await tessera.cli(['users', 'disable', users.cleo ?? ''])).json();

    expect(await logoutTokenFor(quay, 'cleo')).toMatchObject({ sub: users.cleo, sid });
    await page.context().close();
  });

  it('tells the apps when the password is reset from a mailed link', async () => {
    const page = await (await browser.newContext()).newPage();
    const sid = await signIn(page, harbour, 'dev');
    const other = await (await browser.newContext()).newPage();
    await other.goto(new URL('/forgot-password', tessera.issuer).href);
    await other.fill('#email', 'dev@example.test');
    await other.getByRole('button', { name: 'Send link' }).click();
    await other.goto(smtp.linkIn(await smtp.waitForMail('dev@example.test', 'Reset your password'), '/reset-password'));
    await other.fill('#password', 'a brand new password for dev');
    await other.getByRole('button', { name: 'Set password' }).click();
    expect(await other.textContent('main')).toContain('Your password has been changed');

    expect(await logoutTokenFor(harbour, 'dev')).toMatchObject({ sub: users.dev, sid });
    await page.context().close();
    await other.context().close();
  });

  it('signs out at once while an app is slow, then down, and tells the app once it is back', async () => {
    const page = await (await browser.newContext()).newPage();
    const sid = await signIn(page, pier, 'eli');
    // Slow: each connection to the app hangs for 10 s, longer than a post may take (2.5 s).
    proxy.delay(10_000);
    try {
      await page.goto(oidc.buildEndSessionUrl(pier.config, { client_id: pier.id }).href);
      const started = Date.now();
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Sign out' }).click(),
      ]);
      // Had the sign-out waited for the app, it would have taken the post's whole 2.5 s.
      expect(answer.status()).toBeLessThan(400);
      expect(Date.now() - started).toBeLessThan(2_000);
      await waitForRetries(1);
      // Down: connections refused.
      proxy.refuse();
      await waitForRetries(2);
    } finally {
      proxy.restore();
    }
    expect(await logoutTokenFor(pier, 'eli')).toMatchObject({ sub: users.eli, sid });
    // Audited once the post has been answered, just after the app received it.
    const sent = await eventually(async () => {
      const event = auditEvents(tessera.logs()).find((e) => e.type === 'logout_token.sent' && e.userId === users.eli);
      if (!event) throw new Error('no logout_token.sent yet');
      return event;
    });
    expect(sent.details?.attempts).toBe(3);
    // No logout token reaches the log.
    for (const { token } of receiver.received) expect(tessera.logs()).not.toContain(token);
    await page.context().close();
  });
});

/** Waits until the server has logged `count` failed tries to deliver a logout token. */
function waitForRetries(count: number) {
  return eventually(async () => {
    const tries = tessera.logs().split('logout token not delivered; will retry').length - 1;
    if (tries < count) throw new Error(`${tries} failed tries logged, waiting for ${count}`);
  }, 15_000);
}
