import { beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { totpCode } from '../support/account.ts';
import { freshPagePerTest } from '../support/browser.ts';
import { browserSuitePerFile, createClient } from '../support/browser-suite.ts';
import { type ClientApp, consentIfAsked, finishAtClient, startAuthorization } from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * An admin's access token for the admin API is a JWT, valid by its signature until it expires;
 * the admin API still asks, on every call (cached a few seconds at most), whether its grant
 * lives and its user is enabled and an admin. So taking the role, disabling the user or revoking
 * the grant ends the token's use at once, not ten minutes later.
 */
const PASSWORD = 'granite tulips whisper at dawn';
/** How long the admin API may keep answering from what it last checked about a token. */
const RECHECK_MS = 3_000;

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let page: Page;
let config: oidc.Configuration;
let adminAudience: string;

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  adminAudience = `${tessera.issuer}/api/admin`;
  config = (await createClient({ tessera, app }, 'Ops console', 'spa', '--api', adminAudience)).config;
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

/** A new admin signs in to the console (setting up the second factor admins need) for the admin API. */
async function adminSignsIn(username: string) {
  const user = (
    await tessera.cli(
      [
        'users',
        'create',
        '--email',
        `${username}@example.test`,
        '--username',
        username,
        '--role',
        'admin',
        '--password-stdin',
      ],
      PASSWORD,
    )
  ).json<{ id: string }>();
  const started = await startAuthorization(page, config, app, { scope: 'openid', resource: adminAudience });
  await page.fill('#login', username);
  await page.fill('#password', PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const secret = (await page.textContent('#totp-secret')) ?? '';
  await page.fill('#code', await totpCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await consentIfAsked(page);
  const tokens = await finishAtClient(page, config, app, started);
  return { user, tokens };
}

async function callAdminApi(accessToken: string) {
  const res = await fetch(new URL('/api/admin/roles', tessera.issuer), {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  return { status: res.status, challenge: res.headers.get('www-authenticate') };
}

async function afterRecheck() {
  await new Promise((resolve) => setTimeout(resolve, RECHECK_MS + 300));
}

describe('an admin API access token', () => {
  it('stops working once its user no longer holds the admin role', async () => {
    const { user, tokens } = await adminSignsIn('grace');
    expect((await callAdminApi(tokens.access_token)).status).toBe(200);
    (await tessera.cli(['users', 'set-roles', user.id])).json();
    await afterRecheck();
    const refused = await callAdminApi(tokens.access_token);
    expect(refused.status).toBe(403);
    expect(refused.challenge).toContain('error="insufficient_scope"');
  });

  it('stops working once its user is disabled, and cannot mint an API key', async () => {
    const { user, tokens } = await adminSignsIn('hopper');
    expect((await callAdminApi(tokens.access_token)).status).toBe(200);
    (await tessera.cli(['users', 'disable', user.id])).json();
    await afterRecheck();
    const answers = await Promise.all(Array.from({ length: 100 }, () => callAdminApi(tokens.access_token)));
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([401]));
    const minted = await fetch(new URL('/api/admin/api-keys', tessera.issuer), {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'backdoor', roles: ['admin'] }),
    });
    expect(minted.status).toBe(401);
  });

  it('stops working once its grant is revoked (the refresh token revoked, as a sign-out does)', async () => {
    const { tokens } = await adminSignsIn('liskov');
    expect((await callAdminApi(tokens.access_token)).status).toBe(200);
    await oidc.tokenRevocation(config, tokens.refresh_token ?? '');
    await afterRecheck();
    const refused = await callAdminApi(tokens.access_token);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toContain('error="invalid_token"');
  });
});
