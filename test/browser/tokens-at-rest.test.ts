import { beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { openDatabase } from '../../db/database.ts';
import { openAccount } from '../support/account.ts';
import { freshPagePerTest } from '../support/browser.ts';
import { browserSuitePerFile, createUser } from '../support/browser-suite.ts';
import { type ClientApp, codeThroughPages, relyingParty, startAuthorization } from '../support/oidc-flow.ts';
import type { RunningTessera } from '../support/tessera.ts';

/**
 * A copy of the database (a backup, a replica, a stolen dump) holds no working credential: after
 * a sign-in that gave a code, an opaque access token, a refresh token and a session cookie, none
 * of those values is anywhere in it, and all of them still work.
 */
const PASSWORD = 'a long and unusual passphrase';

let tessera: RunningTessera;
let app: ClientApp;
let browser: Browser;
let page: Page;
let user: { id: string };
let web: { client_id: string; client_secret: string };

browserSuitePerFile((suite) => {
  ({ tessera, browser, app } = suite);
});

beforeAll(async () => {
  user = await createUser(tessera, { username: 'ida', password: PASSWORD });
  web = (
    await tessera.cli(['clients', 'create', '--name', 'Archive', '--type', 'web', '--redirect-uri', app.redirectUri])
  ).json();
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

/** Every row of every table, as text: what a dump of the database would show. */
async function databaseAsText(): Promise<string> {
  const database = await openDatabase({
    databaseUrl: tessera.env.DATABASE_URL,
    dataDir: tessera.env.DATA_DIR ?? '',
    role: 'cli',
  });
  try {
    const tables = await sql<{ name: string }>`
      select table_name as name from information_schema.tables
      where table_schema = 'public' and table_type = 'BASE TABLE'`.execute(database.db);
    expect(tables.rows.map((t) => t.name)).toContain('oidc_payloads');
    const dumps = await Promise.all(
      tables.rows.map(async ({ name }) =>
        JSON.stringify((await sql`select * from ${sql.table(name)}`.execute(database.db)).rows),
      ),
    );
    return dumps.join('\n');
  } finally {
    await database.close();
  }
}

describe('the database at rest', () => {
  it('holds none of the code, tokens or session cookie a sign-in gave out, and they all still work', async () => {
    const config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
    const { callback, ...started } = await codeThroughPages(page, config, {
      app,
      login: 'ida',
      password: PASSWORD,
      scope: 'openid offline_access',
      extra: { prompt: 'consent' },
    });
    const code = callback.searchParams.get('code') ?? '';
    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: started.verifier,
      expectedState: started.state,
    });
    const cookies = await page.context().cookies(tessera.issuer);
    const session = cookies.find((c) => c.name === '_session')?.value ?? '';
    const secrets = {
      code,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token ?? '',
      session_cookie: session,
    };
    for (const value of Object.values(secrets)) expect(value.length).toBeGreaterThan(20);

    const dump = await databaseAsText();

    expect(dump).toContain(user.id);
    for (const [what, value] of Object.entries(secrets))
      expect({ what, found: dump.includes(value) }).toEqual({ what, found: false });
    // Nor does any other cookie Tessera set in this browser.
    for (const { name, value } of cookies)
      expect({ name, found: dump.includes(value) }).toEqual({ name, found: false });

    expect(await oidc.fetchUserInfo(config, tokens.access_token, user.id)).toMatchObject({ sub: user.id });
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: true, sub: user.id });
    expect(await oidc.tokenIntrospection(config, tokens.refresh_token ?? '')).toMatchObject({ active: true });
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token ?? '');
    expect(refreshed.claims()?.sub).toBe(user.id);
    // The session the cookie names is still found: a new authorization needs no password.
    await startAuthorization(page, config, app, { scope: 'openid', prompt: 'none' });
    await page.waitForURL((u) => u.href.startsWith(app.redirectUri));
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();
  });

  it('leaves the account page listing sessions by their stored keys, never by their cookies', async () => {
    const config = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
    await codeThroughPages(page, config, { app, login: 'ida', password: PASSWORD, scope: 'openid' });
    const account = await openAccount(browser, tessera.issuer, 'ida', PASSWORD);
    const sessionCookies = [
      ...(await page.context().cookies(tessera.issuer)),
      ...(await account.context().cookies(tessera.issuer)),
    ].filter((c) => c.name === '_session');

    const html = await account.content();

    expect(sessionCookies).toHaveLength(2);
    expect(await account.locator('li[data-session]').count()).toBeGreaterThanOrEqual(2);
    for (const { value } of sessionCookies) expect(html.includes(value)).toBe(false);
    await account.context().close();
  });
});
