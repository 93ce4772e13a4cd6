import { expect } from '@jest/globals';
import { generate } from 'otplib';
import type { Browser, Page } from 'playwright-core';

/**
 * /account as a person reaches it: signed in through the account client's pages in a browser
 * context of its own, and two-step verification set up the way an authenticator app would.
 */
export async function openAccount(browser: Browser, issuer: string, login: string, password: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signInToAccount(page, issuer, login, password);
  return page;
}

/** Signs `page`'s browser in on /account. */
export async function signInToAccount(page: Page, issuer: string, login: string, password: string): Promise<void> {
  await page.goto(new URL('/account', issuer).href);
  expect(await page.textContent('h1')).toBe('Sign in to manage your account');
  await page.getByRole('link', { name: 'Sign in', exact: true }).click();
  await page.fill('#login', login);
  await page.fill('#password', password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((u) => u.pathname === '/account');
  expect(await page.textContent('h1')).toBe('Your account');
}

/**
 * The code an authenticator app shows for `secret`, `stepsAhead` 30-second steps from now. Each
 * step is accepted once and one step of drift is allowed, so `1` gives a code not yet spent.
 */
export function totpCode(secret: string, stepsAhead = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 * stepsAhead });
}

/**
 * From the account page: sets up two-step verification, confirming it with `password` (an account
 * without one has no field for it); returns the secret and recovery codes.
 */
export async function enrolTotp(page: Page, password?: string): Promise<{ secret: string; codes: string[] }> {
  if (password !== undefined) await page.fill('#mfa_start_password', password);
  await page.getByRole('button', { name: 'Set up two-step verification' }).click();
  await page.waitForURL((u) => u.pathname === '/account/mfa/setup');
  const secret = (await page.textContent('#totp-secret'))?.trim() ?? '';
  await page.fill('#code', await totpCode(secret));
  await page.getByRole('button', { name: 'Turn on' }).click();
  return { secret, codes: await recoveryCodesShown(page) };
}

export async function recoveryCodesShown(page: Page): Promise<string[]> {
  return (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
}
