import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import type * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.ts';
import { csrfOf, newAddress, postForm } from '../support/form-posts.ts';
import { type ClientApp, relyingParty, startAuthorization, startClientApp } from '../support/oidc-flow.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Sign-ins while Redis (REDIS_URL) goes away and comes back, through a TCP proxy the test breaks:
 * every login is still answered (never a 500), the limits still hold, counted in the database
 * meanwhile, and counting returns to Redis once it is back, with no restart and no unhandled
 * Redis error.
 */
// Starting Tessera and Chromium, and bursts of argon2 checks, take long on a busy machine.
jest.setTimeout(240_000);

const PASSWORD = 'ferns unfurl beneath the old viaduct';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let proxy: TcpProxy;
let redis: Redis;
let config: oidc.Configuration;
let user: { id: string; username: string };
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  const target = new URL(REDIS_URL);
  proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 6379) });
  redis = new Redis(REDIS_URL);
  [browser, app] = await Promise.all([launchBrowser(), startClientApp()]);
  tessera = await startTessera({ REDIS_URL: proxy.url(REDIS_URL), TRUST_PROXY: 'true' });
  const spa = (
    await tessera.cli(['clients', 'create', '--name', 'Relay', '--type', 'spa', '--redirect-uri', app.redirectUri])
  ).json<{ client_id: string }>();
  config = await relyingParty(tessera.issuer, spa.client_id);
  const username = `outage-${Math.random().toString(36).slice(2, 8)}`;
  const created = (
    await tessera.cli(
      ['users', 'create', '--email', `${username}@example.test`, '--username', username, '--password-stdin'],
      PASSWORD,
    )
  ).json<{ id: string }>();
  user = { id: created.id, username };
});

afterAll(async () => {
  proxy?.restore();
  await Promise.all(contexts.map((c) => c.close()));
  await browser?.close();
  await app?.close();
  await tessera?.dispose();
  await proxy?.close();
  await redis?.quit();
});

async function loginForm(): Promise<{ context: BrowserContext; page: Page; url: string; csrf: string }> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  await startAuthorization(page, config, app, { scope: 'openid' });
  const uid = new URL(page.url()).pathname.split('/')[2];
  return { context, page, url: new URL(`/interaction/${uid}/login`, tessera.issuer).href, csrf: await csrfOf(page) };
}

/** `n` wrong passwords at once from `address`; the statuses of the answers. */
async function wrongPasswords(address: string, n: number, during?: () => void): Promise<number[]> {
  const { context, url, csrf } = await loginForm();
  const pending = Promise.all(
    Array.from({ length: n }, (_, i) =>
      postForm(context, url, { csrf, login: user.username, password: `nope ${i}` }, address),
    ),
  );
  during?.();
  return (await pending).map((r) => r.status());
}

const inRedis = async (address: string) =>
  Number((await redis.get(`tessera:login_account_ip:user:${user.id}|${address}`)) ?? 0);

describe('logins while Redis goes away and comes back', () => {
  it('are all answered, within the limits, and counted in Redis again once it is back', async () => {
    // Redis up: counted there.
    const before = newAddress();
    const up = await wrongPasswords(before, 30);
    expect(up.filter((s) => s === 401)).toHaveLength(5);
    expect(up.filter((s) => s === 429)).toHaveLength(25);
    expect(await inRedis(before)).toBe(30);

    // Cut under a burst, and kept down: every login answered, never a 500.
    const cut = await wrongPasswords(newAddress(), 60, () => proxy.refuse());
    expect(cut.every((s) => s === 401 || s === 429)).toBe(true);
    // Counted partly in Redis before the cut and partly in the database after: at most both limits.
    expect(cut.filter((s) => s === 401).length).toBeLessThanOrEqual(10);
    const down = newAddress();
    const meanwhile = await wrongPasswords(down, 60);
    expect(meanwhile.filter((s) => s === 401)).toHaveLength(5);
    expect(meanwhile.filter((s) => s === 429)).toHaveLength(55);
    expect(tessera.logs()).toContain('Redis is unreachable: rate limits count in the database');
    // The right password still signs in (to the consent page).
    const { page } = await loginForm();
    await page.fill('#login', user.username);
    await page.fill('#password', PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.waitForLoadState();
    expect(await page.getByRole('button', { name: 'Allow' }).count()).toBe(1);

    // Back: counted in Redis again, by the same process.
    proxy.restore();
    await eventually(async () => expect(tessera.logs()).toContain('Redis is reachable again'), 15_000);
    const after = newAddress();
    const back = await wrongPasswords(after, 20);
    expect(back.filter((s) => s === 401)).toHaveLength(5);
    expect(await inRedis(after)).toBe(20);
    expect(await inRedis(down)).toBe(0);

    const logs = tessera.logs();
    expect(logs).not.toContain('Unhandled error event');
    expect(logs).not.toMatch(/"status":5\d\d/);
    expect(logs).not.toContain('[tessera exited');
  });
});
