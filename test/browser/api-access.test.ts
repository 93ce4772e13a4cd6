import { beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { totpCode } from '../support/account.ts';
import { freshPagePerTest, screenshot } from '../support/browser.ts';
import { browserSuitePerFile, createClient, createUser } from '../support/browser-suite.ts';
import {
  type ClientApp,
  consentIfAsked,
  enterPassword,
  finishAtClient,
  startAuthorization,
} from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * What a person signing in to an app sees and what the app gets: tokens only for the APIs the app
 * was granted (the admin API only when an operator named it), a consent page naming each API and
 * scope, and OpenID scopes the app may not have left out of what it receives.
 */
const REPORTS = 'https://api.example.test/reports';
const PLAIN = 'https://api.example.test/plain';
const PASSWORD = 'granite tulips whisper at dawn';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let page: Page;
let adminAudience: string;

const client = (name: string, type: 'spa' | 'web', ...flags: string[]) =>
  createClient({ tessera, app }, name, type, ...flags);

/** The consent page's list, item by item, as the person reads it. */
async function consentItems(): Promise<string[]> {
  await page.waitForSelector('ul.scopes');
  return (await page.locator('ul.scopes > li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  adminAudience = `${tessera.issuer}/api/admin`;
  const api = ['apis', 'create', '--audience', REPORTS, '--name', 'Reports', '--scope', 'reports:read'];
  (await tessera.cli([...api, '--scope', 'reports:write'])).json();
  (await tessera.cli(['apis', 'create', '--audience', PLAIN, '--name', 'Plain'])).json();
  await createUser(tessera, { username: 'root', password: PASSWORD, roles: ['admin'] });
  await createUser(tessera, { username: 'ada', password: PASSWORD });
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

describe('the admin API', () => {
  it('is refused with invalid_target to a spa client made with --scope openid, even for a signed-in admin', async () => {
    const gadget = await client('Gadget', 'spa', '--scope', 'openid');
    // The admin signs in to the app as usual (admins set up a second factor first)…
    const started = await startAuthorization(page, gadget.config, app, { scope: 'openid' });
    await enterPassword(page, 'root', PASSWORD);
    const secret = (await page.textContent('#totp-secret')) ?? '';
    await page.fill('#code', await totpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await consentIfAsked(page);
    await finishAtClient(page, gadget.config, app, started);

    // …and the app then asks for the admin API: back to the app with an error, and no code.
    await startAuthorization(page, gadget.config, app, { scope: 'openid', resource: adminAudience });
    await page.waitForURL((u) => u.href.startsWith(app.redirectUri));
    const answer = new URL(page.url()).searchParams;
    expect(answer.get('error')).toBe('invalid_target');
    expect(answer.get('code')).toBeNull();

    // Named with --api, the same audience works, and the consent page says so.
    const console = await client('Ops console', 'spa', '--api', adminAudience);
    const again = await startAuthorization(page, console.config, app, { scope: 'openid', resource: adminAudience });
    expect(await consentItems()).toEqual([
      'Know who you are',
      `Use Tessera admin API (${adminAudience}) on your behalf`,
    ]);
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtClient(page, console.config, app, again);
    const res = await fetch(new URL('/api/admin/roles', tessera.issuer), {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(res.status).toBe(200);
  });
});

describe('the consent page', () => {
  it('names each API and each of its scopes the app will receive, and the token carries exactly those', async () => {
    const portal = await client('Reports portal', 'web', '--api', REPORTS);
    const started = await startAuthorization(page, portal.config, app, {
      scope: 'openid profile reports:read reports:write',
      resource: REPORTS,
    });
    await enterPassword(page, 'ada', PASSWORD);
    expect(await page.textContent('h1')).toBe('Allow access?');
    expect(await consentItems()).toEqual([
      'Know who you are',
      'See your name and username',
      `Use Reports (${REPORTS}) on your behalf, with permission to: reports:read reports:write`,
    ]);
    await screenshot(page, 'consent-api-scopes');
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtClient(page, portal.config, app, started);
    expect(tokens.scope?.split(' ').sort()).toEqual(['reports:read', 'reports:write']);
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: REPORTS, scope: 'reports:read reports:write' });
  });

  it('asks again for an API the person has not consented to yet, even one without scopes', async () => {
    const app2 = await client('Plain app', 'spa', '--api', PLAIN);
    const first = await startAuthorization(page, app2.config, app, { scope: 'openid' });
    await enterPassword(page, 'ada', PASSWORD);
    expect(await consentItems()).toEqual(['Know who you are']);
    await page.getByRole('button', { name: 'Allow' }).click();
    await finishAtClient(page, app2.config, app, first);

    const second = await startAuthorization(page, app2.config, app, { scope: 'openid', resource: PLAIN });
    expect(await consentItems()).toEqual([`Use Plain (${PLAIN}) on your behalf`]);
    await page.getByRole('button', { name: 'Allow' }).click();
    expect(decodeJwt((await finishAtClient(page, app2.config, app, second)).access_token).aud).toBe(PLAIN);

    // Consented once, not asked again.
    const third = await startAuthorization(page, app2.config, app, { scope: 'openid', resource: PLAIN });
    expect(decodeJwt((await finishAtClient(page, app2.config, app, third)).access_token).aud).toBe(PLAIN);
  });
});

describe('OpenID scopes an app may not have', () => {
  it('are left out of the consent page and the tokens, and the token response names what was granted', async () => {
    const narrow = await client('Narrow app', 'spa', '--scope', 'openid', '--scope', 'profile');
    const started = await startAuthorization(page, narrow.config, app, { scope: 'openid profile email roles' });
    await enterPassword(page, 'ada', PASSWORD);
    expect(await consentItems()).toEqual(['Know who you are', 'See your name and username']);
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtClient(page, narrow.config, app, started);
    expect(tokens.scope).toBe('openid profile');
    const claims = tokens.claims();
    expect(claims).toMatchObject({ preferred_username: 'ada' });
    expect(claims).not.toHaveProperty('email');
    expect(claims).not.toHaveProperty('roles');
    const userinfo = await oidc.fetchUserInfo(narrow.config, tokens.access_token, String(claims?.sub));
    expect(userinfo).not.toHaveProperty('email');
  });
});

describe('a refresh for an API the app is no longer granted', () => {
  it('is refused with invalid_target', async () => {
    const spa = await client('Reports SPA', 'spa', '--api', REPORTS);
    const started = await startAuthorization(page, spa.config, app, {
      scope: 'openid reports:read',
      resource: REPORTS,
    });
    await enterPassword(page, 'ada', PASSWORD);
    await consentIfAsked(page);
    const tokens = await finishAtClient(page, spa.config, app, started);
    expect(decodeJwt(tokens.access_token).aud).toBe(REPORTS);

    (await tessera.cli(['clients', 'update', spa.id, '--api', ''])).json();
    // Other nodes' caches follow within a second or two; until then a refresh still works.
    let refreshToken = tokens.refresh_token ?? '';
    let refusal: unknown;
    for (const deadline = Date.now() + 10_000; !refusal && Date.now() < deadline; ) {
      try {
        refreshToken = (await oidc.refreshTokenGrant(spa.config, refreshToken)).refresh_token ?? '';
        await new Promise((resolve) => setTimeout(resolve, 300));
      } catch (err) {
        refusal = err;
      }
    }
    expect(refusal).toMatchObject({ error: 'invalid_target' });
  });
});
