import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import { expect } from '@jest/globals';
import type { Page } from 'playwright-core';
import { totpCode } from './account.ts';
import { ARTIFACTS } from './browser.ts';
import { enterPassword } from './oidc-flow.ts';

/**
 * The admin console as an operator meets it: signing in through Tessera's pages with the second
 * factor (set up on the way when the admin has none), and each page checked with axe-core for
 * serious accessibility problems and kept as a screenshot in test/artifacts/console/.
 */
export const CONSOLE_ARTIFACTS = join(ARTIFACTS, 'console');

export interface SecondFactor {
  /** The TOTP secret, once set up. */
  secret?: string;
  /** Unused recovery codes; each signs in once. */
  recoveryCodes: string[];
}

/**
 * Opens /admin and signs in with `password`, then the second factor: enrols one when asked (and
 * fills `factor` in), or spends a recovery code. Ends wherever the console sends the browser.
 */
export async function signInToConsole(
  page: Page,
  issuer: string,
  login: string,
  password: string,
  factor?: SecondFactor,
) {
  await page.goto(new URL('/admin', issuer).href);
  await enterPassword(page, login, password);
  await page.waitForLoadState();
  const heading = await page.textContent('h1');
  if (heading === 'Set up two-step verification' && factor) {
    factor.secret = ((await page.textContent('#totp-secret')) ?? '').trim();
    await page.fill('#code', await totpCode(factor.secret));
    await page.getByRole('button', { name: 'Turn on' }).click();
    factor.recoveryCodes = (await page.locator('#recovery-codes li').allTextContents()).map((c) => c.trim());
    await page.getByRole('button', { name: 'Continue' }).click();
  } else if (heading === 'Two-step verification' && factor) {
    const code = factor.recoveryCodes.shift();
    if (!code) throw new Error('no recovery code left');
    await page.fill('#code', code);
    await page.getByRole('button', { name: 'Verify' }).click();
  }
  await page.waitForLoadState();
}

/** Keeps a screenshot of the page and fails on any serious or critical axe-core violation. */
export async function checkPage(page: Page, name: string): Promise<void> {
  await mkdir(CONSOLE_ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(CONSOLE_ARTIFACTS, `${name}.png`), fullPage: true });
  const { violations } = await new AxeBuilder({ page }).analyze();
  const serious = violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
  expect({ page: name, serious }).toEqual({ page: name, serious: [] });
}
