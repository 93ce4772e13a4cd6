import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { enrolTotp, openAccount, recoveryCodesShown, totpCode } from '../support/account.ts';
import { launchBrowser, screenshot } from '../support/browser.ts';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Two-step verification on /account: setting it up with an authenticator app (only a right code
 * turns it on), recovery codes shown once and replaced on demand, and turning it off again.
 */
const PASSWORD = 'copper kettles sing at dawn';

let tessera: RunningTessera;
let browser: Browser;

beforeAll(async () => {
  [tessera, browser] = await Promise.all([startTessera(), launchBrowser()]);
  for (const username of ['mira', 'theo']) {
    const email = `${username}@example.test`;
    (
      await tessera.cli(
        ['users', 'create', '--email', email, '--username', username, '--name', username, '--password-stdin'],
        PASSWORD,
      )
    ).json();
  }
});

afterAll(async () => {
  await browser?.close();
  await tessera?.dispose();
});

const open = (login: string) => openAccount(browser, tessera.issuer, login, PASSWORD);
const mfaStatus = async (page: Page) => (await page.textContent('#mfa-status'))?.split(/[ .]/)[0];

/** A six-digit code the app would not show now, a step before or a step after. */
async function wrongCode(secret: string): Promise<string> {
  const valid = await Promise.all([-1, 0, 1].map((steps) => totpCode(secret, steps)));
  let n = Number(valid[1]);
  while (valid.includes(String(n).padStart(6, '0'))) n = (n + 1) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** Clicks a form's button and returns the status of the answer the browser lands on. */
async function submit(page: Page, button: string, path: string): Promise<number> {
  const answer = page.waitForResponse((r) => new URL(r.url()).pathname === path);
  await page.getByRole('button', { name: button }).click();
  const status = (await answer).status();
  await page.waitForLoadState();
  return status;
}

describe('two-step verification on the account page', () => {
  it('shows a QR code and the key, refuses a wrong code, and turns on with a right one', async () => {
    const page = await open('mira');
    expect(await mfaStatus(page)).toBe('Off');
    await page.fill('#mfa_start_password', PASSWORD);
    await page.getByRole('button', { name: 'Set up two-step verification' }).click();
    await page.waitForURL((u) => u.pathname === '/account/mfa/setup');
    expect(await page.textContent('h1')).toBe('Set up two-step verification');

    const secret = (await page.textContent('#totp-secret'))?.trim() ?? '';
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = (await page.textContent('#totp-uri'))?.trim() ?? '';
    expect(uri).toMatch(/^otpauth:\/\/totp\/Tessera:mira%40example\.test\?/);
    expect(new URL(uri).searchParams.get('secret')).toBe(secret);
    const qr = page.getByRole('img', { name: /QR code/ });
    const src = (await qr.getAttribute('src')) ?? '';
    expect(src).toMatch(/^data:image\/svg\+xml;base64,/);
    expect(Buffer.from(src.split(',')[1] ?? '', 'base64').toString()).toContain('<svg');
    // The page's CSP lets data: images load: the QR code is really drawn.
    expect(await qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    await screenshot(page, 'account-mfa-enrol');

    await page.fill('#code', await wrongCode(secret));
    expect(await submit(page, 'Turn on', '/account/mfa/confirm')).toBe(400);
    expect(await page.getByRole('alert').textContent()).toContain('That code is not right.');
    expect(await page.textContent('#totp-secret')).toBe(secret);
    // A reload of the setup page shows the same key: an app already holding it stays right.
    await page.goto(new URL('/account/mfa/setup', tessera.issuer).href);
    expect(await page.textContent('#totp-secret')).toBe(secret);

    await page.fill('#code', await totpCode(secret));
    expect(await submit(page, 'Turn on', '/account/mfa/confirm')).toBe(200);
    expect(await page.textContent('h1')).toBe('Your recovery codes');
    expect(await page.textContent('main')).toContain('Store these codes somewhere safe');
    const codes = await recoveryCodesShown(page);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    await screenshot(page, 'account-mfa-recovery-codes');

    await page.getByRole('link', { name: 'Back to your account' }).click();
    await page.waitForURL((u) => u.pathname === '/account');
    expect(await mfaStatus(page)).toBe('On');
    expect(await page.textContent('#recovery-codes-left')).toBe('10 recovery codes left.');
    // Shown once: neither the account page nor the setup page shows the codes or the key again.
    const html = await page.content();
    for (const code of codes) expect(html).not.toContain(code);
    await page.goto(new URL('/account/mfa/setup', tessera.issuer).href);
    expect(new URL(page.url()).pathname).toBe('/account');
    expect(await page.content()).not.toContain(secret);
    await page.context().close();
  });

  it('replaces the recovery codes, and turns off only with the password and a current code', async () => {
    const page = await open('theo');
    const { secret, codes: first } = await enrolTotp(page, PASSWORD);
    expect(first).toHaveLength(10);
    await page.goto(new URL('/account', tessera.issuer).href);

    await page.fill('#mfa_codes_password', 'not my password');
    expect(await submit(page, 'New recovery codes', '/account/mfa/recovery-codes')).toBe(400);
    expect(await page.textContent('#mfa-codes-error')).toContain('Your current password is not right.');
    await page.fill('#mfa_codes_password', PASSWORD);
    expect(await submit(page, 'New recovery codes', '/account/mfa/recovery-codes')).toBe(200);
    const second = await recoveryCodesShown(page);
    expect(second).toHaveLength(10);
    expect(second.filter((c) => first.includes(c))).toEqual([]);
    await page.goto(new URL('/account', tessera.issuer).href);
    expect(await page.textContent('#recovery-codes-left')).toBe('10 recovery codes left.');

    // The old set stopped working; a wrong code and a wrong password are refused too.
    const refusals: [string, string][] = [
      [PASSWORD, first[0] ?? ''],
      [PASSWORD, await wrongCode(secret)],
      ['not my password', await totpCode(secret, 1)],
    ];
    for (const [password, code] of refusals) {
      await page.fill('#mfa_off_password', password);
      await page.fill('#mfa_off_code', code);
      expect(await submit(page, 'Turn off', '/account/mfa/disable')).toBe(400);
      expect(await page.textContent('#mfa-off-error')).toMatch(/is not right/);
      expect(await mfaStatus(page)).toBe('On');
    }

    await page.fill('#mfa_off_password', PASSWORD);
    await page.fill('#mfa_off_code', await totpCode(secret, 1));
    await page.getByRole('button', { name: 'Turn off' }).click();
    await page.waitForURL((u) => u.pathname === '/account' && u.searchParams.get('done') === 'mfa-off');
    expect(await page.getByRole('status').textContent()).toBe(
      'Two-step verification was turned off. Every other session was signed out.',
    );
    expect(await mfaStatus(page)).toBe('Off');
    await page.context().close();

    // Without a factor, signing in asks for the password only.
    await (await open('theo')).context().close();
  });

  it('audits every step and never answered with a 5xx', () => {
    for (const type of [
      'mfa.enrolment_started',
      'mfa.enabled',
      'mfa.recovery_codes_regenerated',
      'mfa.disable_failed',
      'mfa.disabled',
    ]) {
      expect(tessera.logs()).toContain(`audit ${type}`);
    }
    expect(tessera.logs()).not.toMatch(/"status":5\d\d|request failed/);
  });
});
