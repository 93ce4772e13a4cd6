import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach } from '@jest/globals';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/**
 * Debian's build of Chromium's headless shell, driven by playwright-core: the same engine as the
 * full browser at about two thirds of its CPU, which the suite, mostly pages, is bound by. The
 * flags keep it from reaching for Google's services, which this machine's closed network refuses.
 */
export const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium-headless-shell',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Saves what the person sees, for a human to look at (test/artifacts is not committed). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Gives each test of the calling file a fresh browser context (its own cookies, so no session
 * leaks between tests) and page, through `use`; closes the context after the test.
 */
export function freshPagePerTest(browser: () => Browser, use: (context: BrowserContext, page: Page) => void): void {
  let context: BrowserContext | undefined;
  beforeEach(async () => {
    context = await browser().newContext();
    use(context, await context.newPage());
  });
  afterEach(async () => {
    await context?.close();
  });
}
