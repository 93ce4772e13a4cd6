import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { type FakeGitHub, githubEnv, startFakeGitHub } from '../fixtures/fake-github.ts';
import { freshPagePerTest } from '../support/browser.ts';
import { browserSuitePerFile } from '../support/browser-suite.ts';
import {
  type ClientApp,
  consentIfAsked,
  finishAtClient,
  relyingParty,
  startAuthorization,
} from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * Someone signs up with another person's address and never verifies it. When the address's
 * owner arrives with "Continue with GitHub", where that address is verified, GitHub wins: the
 * pending sign-up is deleted and the owner gets an account with their address, signed in. An
 * account whose address was verified is never replaced this way.
 */
const PASSWORD = 'copper herons fold the map';

let tessera: RunningTessera;
let github: FakeGitHub;
let browser: Browser;
let app: ClientApp;
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
    await tessera.cli(['clients', 'create', '--name', 'Owner App', '--type', 'spa', '--redirect-uri', app.redirectUri])
  ).json<{ client_id: string }>();
  config = await relyingParty(tessera.issuer, spa.client_id);
  apiKey = (await tessera.cli(['api-keys', 'create', '--name', 'test', '--role', 'admin'])).json<{ key: string }>().key;
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

afterAll(async () => {
  await github?.close();
});

async function admin(path: string) {
  const response = await fetch(new URL(path, tessera.issuer), { headers: { authorization: `Bearer ${apiKey}` } });
  expect(response.status).toBe(200);
  return response.json() as Promise<{ items: Record<string, unknown>[]; total: number }>;
}

const usersWith = async (email: string) => (await admin(`/api/admin/users?q=${encodeURIComponent(email)}`)).items;

async function signUpInAnotherBrowser(email: string, username: string) {
  const squatter = await (await browser.newContext()).newPage();
  await startAuthorization(squatter, config, app, { prompt: 'create' });
  await squatter.fill('#email', email);
  await squatter.fill('#username', username);
  await squatter.fill('#full_name', 'Not The Owner');
  await squatter.fill('#password', PASSWORD);
  await squatter.getByRole('button', { name: 'Create account' }).click();
  expect(await squatter.textContent('h1')).toBe('Check your email');
  await squatter.context().close();
}

/** The owner's sign-in through GitHub, wherever it ends. */
async function continueWithGitHub(id: number, login: string, email: string) {
  github.signIn({ id, login, name: 'The Owner', emails: [{ email, primary: true, verified: true }] });
  const started = await startAuthorization(page, config, app);
  await page.getByRole('button', { name: 'Continue with GitHub' }).click();
  await page.waitForURL((u) => u.href.startsWith(github.baseUrl));
  await page.getByRole('button', { name: 'Authorize' }).click();
  await page.waitForURL((u) => !u.href.startsWith(github.baseUrl));
  return started;
}

describe('an unverified sign-up holding someone’s address', () => {
  it('gives way to the owner arriving through GitHub, who gets an account with the address', async () => {
    await signUpInAnotherBrowser('rosa@example.test', 'rosa-squat');
    const [squatter] = await usersWith('rosa@example.test');
    expect(squatter).toMatchObject({ email: 'rosa@example.test', email_verified: false });

    const started = await continueWithGitHub(8101, 'rosa', 'rosa@example.test');
    await consentIfAsked(page);
    const claims = (await finishAtClient(page, config, app, started)).claims();
    expect(claims).toMatchObject({ email: 'rosa@example.test', email_verified: true, preferred_username: 'rosa' });
    expect(claims?.sub).not.toBe(squatter?.id);

    const holders = await usersWith('rosa@example.test');
    expect(holders.map((u) => u.id)).toEqual([claims?.sub]);
    const replaced = (await admin('/api/admin/audit-events?type=signup.unverified_replaced')).items;
    expect(replaced).toEqual([expect.objectContaining({ user_id: squatter?.id, details: { by: claims?.sub } })]);
  });

  it('does not replace an account whose address was verified: GitHub only offers to link it', async () => {
    await tessera.cli(['users', 'create', '--email', 'ines@example.test', '--password-stdin'], PASSWORD);
    const [owner] = await usersWith('ines@example.test');

    await continueWithGitHub(8102, 'ines', 'ines@example.test');
    expect(page.url()).toContain('/login');
    expect(await page.locator('#password').count()).toBe(1);
    expect((await usersWith('ines@example.test')).map((u) => u.id)).toEqual([owner?.id]);
  });
});
