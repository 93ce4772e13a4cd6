import { afterAll, beforeAll } from '@jest/globals';
import type * as oidc from 'openid-client';
import type { Browser } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { type ClientApp, relyingParty, startClientApp } from './oidc-flow.ts';
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

/**
 * A client made with the CLI that sends people back to `app`, with any other `flags`; answers the
 * CLI's JSON and openid-client's configuration for the client.
 */
export async function createClient(
  { tessera, app }: Pick<BrowserSuite, 'tessera' | 'app'>,
  name: string,
  type: 'spa' | 'web',
  ...flags: string[]
): Promise<{ id: string; created: Record<string, unknown>; config: oidc.Configuration }> {
  const args = ['clients', 'create', '--name', name, '--type', type, '--redirect-uri', app.redirectUri, ...flags];
  const created = (await tessera.cli(args)).json<{ client_id: string; client_secret?: string }>();
  return {
    id: created.client_id,
    created,
    config: await relyingParty(tessera.issuer, created.client_id, created.client_secret),
  };
}
