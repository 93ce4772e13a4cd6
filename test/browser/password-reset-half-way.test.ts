import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../support/browser.ts';
import { type ClientApp, relyingParty, signInThroughPages, startClientApp } from '../support/oidc-flow.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * A password reset is three writes: spend the link, set the password, end every session and grant.
 * When the database fails on the last one (here a trigger raising the code PostgreSQL sends when
 * it shuts down), the person sees "try again shortly" and nothing has changed: the old password,
 * sessions and refresh tokens still work, and the link can be used again, this time to the end.
 */
const PASSWORD = 'violet kettle under seven moons';
const NEW_PASSWORD = 'a different, equally long passphrase';

let tessera: RunningTessera;
let smtp: TestSmtp;
let browser: Browser;
let app: ClientApp;
let config: oidc.Configuration;

beforeAll(async () => {
  [smtp, browser, app] = await Promise.all([startTestSmtp(), launchBrowser(), startClientApp()]);
  tessera = await startTessera({ SMTP_URL: smtp.url });
  const spa = (
    await tessera.cli(['clients', 'create', '--name', 'Planner', '--type', 'spa', '--redirect-uri', app.redirectUri])
  ).json<{ client_id: string }>();
  (
    await tessera.cli(
      ['users', 'create', '--email', 'june@example.test', '--username', 'june', '--password-stdin'],
      `${PASSWORD}\n`,
    )
  ).json();
  config = await relyingParty(tessera.issuer, spa.client_id);
});

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await tessera?.dispose();
  await smtp?.close();
});

/** SQL straight to Tessera's database: the server's PostgreSQL, or the embedded one through its socket. */
async function onTesseraDatabase(statement: string) {
  const { DATABASE_URL, DATA_DIR } = tessera.env;
  const client = new pg.Client(
    DATABASE_URL ? { connectionString: DATABASE_URL } : { host: DATA_DIR, port: 5432, user: 'postgres' },
  );
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const FAIL_REVOCATION = `
  create function fail_revocation() returns trigger language plpgsql as $$
  begin raise exception 'terminating connection due to administrator command' using errcode = '57P01'; end $$;
  create trigger fail_revocation before delete on oidc_payloads for each row execute function fail_revocation();`;
const HEAL = 'drop trigger fail_revocation on oidc_payloads; drop function fail_revocation();';

async function signIn(password: string) {
  const context = await browser.newContext();
  try {
    return await signInThroughPages(await context.newPage(), config, { app, login: 'june', password, scope: 'openid' });
  } finally {
    await context.close();
  }
}

describe('a password reset the database fails half-way', () => {
  it('changes nothing, says to try again shortly, and succeeds from the same link afterwards', async () => {
    const { tokens } = await signIn(PASSWORD);
    const refreshToken = tokens?.refresh_token ?? '';
    expect(refreshToken).toBeTruthy();

    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(new URL('/forgot-password', tessera.issuer).href);
    await page.fill('#email', 'june@example.test');
    await page.getByRole('button', { name: 'Send link' }).click();
    const resetLink = smtp.linkIn(
      await smtp.waitForMail('june@example.test', 'Reset your password'),
      '/reset-password',
    );

    await onTesseraDatabase(FAIL_REVOCATION);
    try {
      await page.goto(resetLink);
      await page.fill('#password', NEW_PASSWORD);
      const [answer] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Set password' }).click(),
      ]);
      expect(answer.status()).toBe(503);
      expect(await answer.headerValue('retry-after')).toBe('5');
      expect(await page.textContent('h1')).toBe('Try again shortly');
    } finally {
      await onTesseraDatabase(HEAL);
    }

    // Nothing was half done: the old password, the session's refresh token and the link all still work.
    const refreshed = await oidc.refreshTokenGrant(config, refreshToken);
    expect((await signIn(PASSWORD)).tokens?.claims()?.sub).toBe(tokens?.claims()?.sub);

    await page.goto(resetLink);
    await page.fill('#password', NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.textContent('main')).toContain('Your password has been changed');
    await expect(oidc.refreshTokenGrant(config, refreshed.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await signIn(NEW_PASSWORD)).tokens?.claims()?.sub).toBe(tokens?.claims()?.sub);
    await context.close();
  });
});
