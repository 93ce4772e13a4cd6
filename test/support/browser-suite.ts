import { afterAll, beforeAll } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { type ClientApp, startClientApp } from './oidc-flow.ts';
import { type RunningTessera, startTessera } from './tessera.ts';

/**
 * What a browser test file starts before its tests and closes after them: a Tessera server (with
 * `env`, or what `env()` answers once earlier hooks ran), Chromium, and a client app to come back
 * to. Handed to `use` once all three run; the file's own beforeAll (declared after) can then
 * create its users and clients.
 */
export interface BrowserSuite {
  tessera: RunningTessera;
  browser: Browser;
  app: ClientApp;
}

export function browserSuitePerFile(
  use: (suite: BrowserSuite) => void,
  env: Record<string, string> | (() => Record<string, string>) = {},
): void {
  let suite: Partial<BrowserSuite> = {};
  beforeAll(async () => {
    const tesseraEnv = typeof env === 'function' ? env() : env;
    const [tessera, browser, app] = await Promise.all([startTessera(tesseraEnv), launchBrowser(), startClientApp()]);
    suite = { tessera, browser, app };
    use({ tessera, browser, app });
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.app?.close();
    await suite.tessera?.dispose();
  });
}

/** A user made with the CLI, as an operator would; answers the CLI's JSON (with the user's id). */
export async function createUser(
  tessera: RunningTessera,
  user: { username: string; password: string; email?: string; roles?: string[] },
): Promise<{ id: string }> {
  const email = user.email ?? `${user.username}@example.test`;
  const roles = (user.roles ?? []).flatMap((role) => ['--role', role]);
  const args = ['users', 'create', '--email', email, '--username', user.username, ...roles, '--password-stdin'];
  return (await tessera.cli(args, `${user.password}\n`)).json<{ id: string }>();
}
