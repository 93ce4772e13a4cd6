import { beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { freshPagePerTest } from '../support/browser.ts';
import { browserSuitePerFile, createClient, createUser } from '../support/browser-suite.ts';
import { type ClientApp, startAuthorization } from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * Sign-up tells nobody whether an email is registered. With a username someone holds, the page
 * is the same for the holder's address, another registered address and an unregistered one; and
 * a sign-up reserves nothing a second sign-up could notice, so trying an address with a fresh
 * username, then that username with another address, reveals nothing about the first address.
 */
const PASSWORD = 'amber lanterns drift past nine';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let page: Page;
let config: oidc.Configuration;

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  config = (await createClient({ tessera, app }, 'Probe', 'spa')).config;
  for (const username of ['owner', 'other']) await createUser(tessera, { username, password: PASSWORD });
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

/** What a person sees after sending the sign-up form: the status and the page's text, their own address blanked. */
async function answerTo(email: string, username: string) {
  await startAuthorization(page, config, app, { prompt: 'create' });
  expect(await page.textContent('h1')).toBe('Create account');
  await page.fill('#email', email);
  await page.fill('#username', username);
  await page.fill('#full_name', 'Pat Probe');
  await page.fill('#password', PASSWORD);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/signup')),
    page.getByRole('button', { name: 'Create account' }).click(),
  ]);
  await page.waitForLoadState();
  const text = ((await page.textContent('main')) ?? '').replaceAll(email, '<email>');
  return { status: response.status(), text };
}

describe('the sign-up answer', () => {
  it('is the same for a taken username whether the email is its owner’s, another registered one, or new', async () => {
    const owners = await answerTo('owner@example.test', 'owner');
    const anotherRegistered = await answerTo('other@example.test', 'owner');
    const unregistered = await answerTo('nobody@example.test', 'owner');

    expect(owners).toEqual(unregistered);
    expect(anotherRegistered).toEqual(unregistered);
    expect(unregistered.status).toBe(400);
    expect(unregistered.text).toContain('That username is taken. Try another.');
    expect(unregistered.text).not.toContain('Check your email');
  });

  it('leaves no trace of whether an earlier sign-up’s email was registered', async () => {
    // Step one: a registered and an unregistered address, each with a username nobody holds.
    const registeredFirst = await answerTo('other@example.test', 'probe-a');
    const unregisteredFirst = await answerTo('newcomer@example.test', 'probe-b');
    expect(registeredFirst).toEqual(unregisteredFirst);
    expect(unregisteredFirst.text).toContain('Check your email');

    // Step two: the same usernames with fresh addresses. Were a sign-up to hold its username
    // before verification, only the new address's username would now be "taken".
    const afterRegistered = await answerTo('third@example.test', 'probe-a');
    const afterUnregistered = await answerTo('fourth@example.test', 'probe-b');
    expect(afterRegistered).toEqual(afterUnregistered);
    expect(afterUnregistered.status).toBe(200);
    expect(afterUnregistered.text).toContain('Check your email');
  });
});
