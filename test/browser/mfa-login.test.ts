import { beforeAll, describe, expect, it } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { totpCode } from '../support/account.ts';
import { freshPagePerTest, screenshot } from '../support/browser.ts';
import { browserSuitePerFile, createClient, createUser } from '../support/browser-suite.ts';
import {
  type ClientApp,
  consentIfAsked,
  enterPassword,
  finishAtClient,
  leaveForClient,
  startAuthorization,
} from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * The second factor as a step of the login: forced enrolment for a role that requires it, codes
 * accepted once, recovery codes, `acr_values` demanding it, and step-up on an existing session.
 */
const PASSWORD = 'granite tulips whisper at dawn';
const ACR_MFA = 'urn:tessera:acr:mfa';

let tessera: RunningTessera;
let browser: Browser;
let app: ClientApp;
let context: BrowserContext;
let page: Page;
let config: oidc.Configuration;
let secret = '';
let recoveryCodes: string[] = [];

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  config = (await createClient({ tessera, app }, 'Vault', 'spa')).config;
  await createUser(tessera, { username: 'root', password: PASSWORD, roles: ['admin'] });
  await createUser(tessera, { username: 'plain', password: PASSWORD });
  await createUser(tessera, { username: 'casual', password: PASSWORD });
});

freshPagePerTest(
  () => browser,
  (c, p) => {
    context = c;
    page = p;
  },
);

const password = (login: string) => enterPassword(page, login, PASSWORD);

async function code(value: string) {
  await page.fill('#code', value);
  await page.getByRole('button', { name: 'Verify' }).click();
}

describe('MFA at sign-in', () => {
  it('takes an admin without a factor through enrolment before the flow continues', async () => {
    // Cancel at enrolment goes back to the client with access_denied.
    const cancelled = await startAuthorization(page, config, app, { scope: 'openid' });
    await password('root');
    expect(await page.textContent('h1')).toBe('Set up two-step verification');
    expect(await leaveForClient(page, app, 'Cancel')).toMatchObject({ error: 'access_denied', state: cancelled.state });

    const started = await startAuthorization(page, config, app, { scope: 'openid' });
    await password('root');
    expect(await page.textContent('h1')).toBe('Set up two-step verification');
    expect(await page.getAttribute('img', 'src')).toMatch(/^data:image\/svg\+xml;base64,/);
    secret = (await page.textContent('#totp-secret')) ?? '';
    expect(await page.textContent('#totp-uri')).toContain('otpauth://totp/Tessera:');
    // A reload shows the same key: the one the person may already have scanned.
    await page.reload();
    expect(await page.textContent('#totp-secret')).toBe(secret);
    await screenshot(page, 'mfa-enrol');

    await page.fill('#code', '000000');
    await page.getByRole('button', { name: 'Turn on' }).click();
    expect(await page.getByRole('alert').textContent()).toContain('That code is not right.');
    await page.fill('#code', await totpCode(secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    recoveryCodes = (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
    expect(recoveryCodes).toHaveLength(10);
    await screenshot(page, 'mfa-recovery-codes');
    await page.getByRole('button', { name: 'Continue' }).click();
    await consentIfAsked(page);
    const tokens = await finishAtClient(page, config, app, started);
    expect(tokens.claims()).toMatchObject({ amr: ['pwd', 'otp'], acr: ACR_MFA });
  });

  it('asks for a code after the password, refuses a wrong or replayed one, and accepts a fresh one', async () => {
    const started = await startAuthorization(page, config, app, { scope: 'openid' });
    await password('root');
    expect(await page.textContent('h1')).toBe('Two-step verification');
    await screenshot(page, 'mfa-code');
    await code('123456');
    expect(await page.getByRole('alert').textContent()).toContain('That code is not right, or was already used.');
    // The enrolment spent the current step; one step of drift ahead is allowed, once.
    await code(await totpCode(secret, -1));
    expect(await page.getByRole('alert').textContent()).toContain('already used');
    await code(await totpCode(secret, 1));
    await consentIfAsked(page);
    const tokens = await finishAtClient(page, config, app, started);
    expect(tokens.claims()).toMatchObject({ amr: ['pwd', 'otp'], acr: ACR_MFA });
  });

  it('lets a person cancel at the second step, which sends access_denied back to the client', async () => {
    const started = await startAuthorization(page, config, app, { scope: 'openid' });
    await password('root');
    expect(await page.textContent('h1')).toBe('Two-step verification');
    expect(await leaveForClient(page, app, 'Cancel')).toMatchObject({ error: 'access_denied', state: started.state });
  });

  it('accepts a recovery code once', async () => {
    for (const attempt of ['first', 'second']) {
      await context.clearCookies();
      const started = await startAuthorization(page, config, app, { scope: 'openid' });
      await password('root');
      await code(recoveryCodes[0] ?? '');
      if (attempt === 'first') {
        await consentIfAsked(page);
        expect((await finishAtClient(page, config, app, started)).claims()?.amr).toEqual(['pwd', 'otp']);
      } else {
        expect(await page.getByRole('alert').textContent()).toContain('That code is not right, or was already used.');
      }
    }
  });

  it('is demanded by acr_values, and added to an existing password session after the password (step-up)', async () => {
    const plain = await startAuthorization(page, config, app, { scope: 'openid' });
    await password('plain');
    await consentIfAsked(page);
    expect((await finishAtClient(page, config, app, plain)).claims()).toMatchObject({ amr: ['pwd'] });

    // Same browser, same session: a second factor is only added after the password is given again.
    const stepUp = await startAuthorization(page, config, app, { scope: 'openid', acr_values: ACR_MFA });
    expect(await page.textContent('h1')).toBe('Sign in');
    expect(await page.getByRole('status').textContent()).toContain('Sign in again to set it up.');
    expect(await page.inputValue('#login')).toBe('plain');
    await password('plain');
    expect(await page.textContent('h1')).toBe('Set up two-step verification');
    const plainSecret = (await page.textContent('#totp-secret')) ?? '';
    await page.fill('#code', await totpCode(plainSecret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await consentIfAsked(page);
    expect((await finishAtClient(page, config, app, stepUp)).claims()).toMatchObject({
      amr: ['pwd', 'otp'],
      acr: ACR_MFA,
    });
  });

  it('is demanded by a client created with --require-mfa', async () => {
    const strict = await createClient({ tessera, app }, 'Payroll', 'spa', '--require-mfa');
    expect(strict.created.require_mfa).toBe(true);
    const strictConfig = strict.config;
    const started = await startAuthorization(page, strictConfig, app, { scope: 'openid' });
    await password('casual');
    expect(await page.textContent('h1')).toBe('Set up two-step verification');
    const casualSecret = (await page.textContent('#totp-secret')) ?? '';
    await page.fill('#code', await totpCode(casualSecret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
    await consentIfAsked(page);
    expect((await finishAtClient(page, strictConfig, app, started)).claims()).toMatchObject({ amr: ['pwd', 'otp'] });
  });

  it('is demanded by a role created with --requires-mfa', async () => {
    const role = (await tessera.cli(['roles', 'create', 'finance', '--requires-mfa'])).json<{
      requires_mfa: boolean;
    }>();
    expect(role.requires_mfa).toBe(true);
    (
      await tessera.cli(
        [
          'users',
          'create',
          '--email',
          'fin@example.test',
          '--username',
          'fin',
          '--role',
          'finance',
          '--password-stdin',
        ],
        PASSWORD,
      )
    ).json();
    await startAuthorization(page, config, app, { scope: 'openid' });
    await password('fin');
    expect(await page.textContent('h1')).toBe('Set up two-step verification');
  });
});
