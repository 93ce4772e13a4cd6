import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser.ts';
import {
  type ClientApp,
  consentIfAsked,
  finishAtClient,
  relyingParty,
  startAuthorization,
  startClientApp,
} from '../support/oidc-flow.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Redis (REDIS_URL, the shared rate-limit store) going away while people sign in. The process
 * stays up; a sign-in that needs Redis meanwhile is answered 503 "Try again shortly" with
 * Retry-After (or goes through, where the rate limiter can do without Redis), never a 500; and
 * sign-ins work again by themselves once Redis is back.
 */
const REDIS = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const PASSWORD = 'a long and unusual passphrase';

let proxy: TcpProxy;
let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let config: oidc.Configuration;

beforeAll(async () => {
  proxy = await startTcpProxy({ host: REDIS.hostname, port: Number(REDIS.port || 6379) });
  [tessera, browser, app] = await Promise.all([
    // A database index of its own, so no other test's counters meet this one's.
    startTessera({ REDIS_URL: proxy.url(new URL('/7', REDIS).href) }),
    launchBrowser(),
    startClientApp(),
  ]);
  const spa = (
    await tessera.cli(['clients', 'create', '--name', 'Planner', '--type', 'spa', '--redirect-uri', app.redirectUri])
  ).json<{ client_id: string }>();
  (
    await tessera.cli(
      ['users', 'create', '--email', 'rosa@example.test', '--username', 'rosa', '--password-stdin'],
      `${PASSWORD}\n`,
    )
  ).json();
  config = await relyingParty(tessera.issuer, spa.client_id);
});

afterAll(async () => {
  proxy?.restore();
  await tessera?.dispose();
  await Promise.all([browser?.close(), app?.close(), proxy?.close()]);
});

/** Submits the login form; answers the status of that POST and the page's heading. */
async function signIn() {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    const started = await startAuthorization(page, config, app, { scope: 'openid' });
    await page.fill('#login', 'rosa');
    await page.fill('#password', PASSWORD);
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    await page.waitForLoadState();
    if (answer.status() >= 400) {
      return {
        status: answer.status(),
        retryAfter: await answer.headerValue('retry-after'),
        heading: await page.textContent('h1'),
      };
    }
    await consentIfAsked(page);
    const tokens = await finishAtClient(page, config, app, started);
    return { status: answer.status(), tokens };
  } finally {
    await context.close();
  }
}

describe('Redis going away', () => {
  it('never gives a 500 or ends the process, and sign-ins work again once it is back', async () => {
    expect((await signIn()).tokens?.access_token).toBeTruthy();

    proxy.refuse();
    try {
      const answers = await Promise.all([signIn(), signIn(), signIn()]);
      for (const answer of answers) {
        if (answer.status === 503) {
          expect(answer).toMatchObject({ retryAfter: '5', heading: 'Try again shortly' });
        } else {
          expect(answer.status).toBeLessThan(400);
          expect(answer.tokens?.access_token).toBeTruthy();
        }
      }
    } finally {
      proxy.restore();
    }

    await eventually(async () => expect((await signIn()).tokens?.access_token).toBeTruthy(), 15_000);
    expect(tessera.logs()).not.toContain('[tessera exited');
    expect(tessera.logs()).not.toContain('"status":500');
  });
});
