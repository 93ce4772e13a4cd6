import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { totpCode } from '../support/account.ts';
import { formClient } from '../support/form-client.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { auditEvents, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * A password reset on an account whose address was never verified verifies it. On a self-service
 * sign-up it also removes the factors and username the sign-up brought (test/browser/passkeys.test.ts);
 * an account an operator imported keeps them: the operator vouched for it, and the person's
 * authenticator from the old system must go on working.
 */
const PASSWORD = 'amber lanterns drift over the harbour';
const TOTP_SECRET = 'LBYTGTDNLI4HMS3QGJJHIWJXO5HGGNCC';
const REDIRECT_URI = 'https://app.imported.test/callback';

let smtp: TestSmtp;
let tessera: RunningTessera;
let work = '';

beforeAll(async () => {
  smtp = await startTestSmtp();
  tessera = await startTessera({ SMTP_URL: smtp.url, MAIL_FROM: 'Tessera <auth@tessera.test>' });
  work = await mkdtemp(join(tmpdir(), 'tessera-reset-import-'));
});

afterAll(async () => {
  await tessera?.dispose();
  await smtp?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

async function importUser(user: Record<string, unknown>): Promise<string> {
  const file = join(work, 'users.jsonl');
  await writeFile(file, `${JSON.stringify(user)}\n`);
  await tessera.cli(['users', 'import', file]);
  const apiKey = (await tessera.cli(['api-keys', 'create', '--name', 'test', '--role', 'admin'])).json<{
    key: string;
  }>();
  const users = await fetch(new URL(`/api/admin/users?q=${encodeURIComponent(String(user.email))}`, tessera.issuer), {
    headers: { authorization: `Bearer ${apiKey.key}` },
  });
  const [found] = ((await users.json()) as { items: { id: string }[] }).items;
  if (!found) throw new Error(`${user.email} was not imported`);
  return found.id;
}

async function resetPassword(email: string, password: string) {
  const browser = formClient();
  const forgot = new URL('/forgot-password', tessera.issuer);
  expect((await browser.submit(forgot, forgot, { email })).status).toBe(200);
  const link = smtp.linkIn(await smtp.waitForMail(email, 'Reset your password'), '/reset-password');
  const token = new URL(link).searchParams.get('token') ?? '';
  const answer = await browser.submit(link, '/reset-password', { token, password });
  expect(answer.status).toBe(200);
  expect(await answer.text()).toContain('Your password has been changed');
}

/** Signs in through the pages up to the second factor, enters `code`, and answers the page it leads to. */
async function signInWithCode(login: string, password: string, code: string) {
  const browser = formClient();
  const spa = (
    await tessera.cli(['clients', 'create', '--name', 'Harbour App', '--type', 'spa', '--redirect-uri', REDIRECT_URI])
  ).json<{ client_id: string }>();
  const interaction = await browser.authorize(tessera.issuer, spa.client_id, REDIRECT_URI);
  const loggedIn = await browser.submit(interaction, `${interaction.pathname}/login`, { login, password });
  expect(loggedIn.status).toBe(303);
  const mfa = new URL(loggedIn.headers.get('location') ?? '', tessera.issuer);
  const asked = await (await browser.get(mfa)).text();
  expect(asked).toContain('Two-step verification');
  const answered = await browser.submit(mfa, mfa, { code });
  expect(answered.status).toBe(303);
  return (await browser.get(new URL(answered.headers.get('location') ?? '', tessera.issuer))).text();
}

describe('a password reset on an imported account whose address was never verified', () => {
  it('verifies the address and keeps the username and the authenticator app', async () => {
    const id = await importUser({
      email: 'noor@imported.test',
      email_verified: false,
      username: 'noor',
      name: 'Noor Haddad',
      totp_secret: TOTP_SECRET,
    });
    const show = async () => (await tessera.cli(['users', 'show', id])).json<Record<string, unknown>>();
    expect(await show()).toMatchObject({
      email_verified: false,
      username: 'noor',
      factors: { password: false, totp: { confirmed_at: expect.any(String) } },
    });

    await resetPassword('noor@imported.test', PASSWORD);

    expect(await show()).toMatchObject({
      email_verified: true,
      username: 'noor',
      factors: { password: true, totp: { confirmed_at: expect.any(String) } },
    });
    const reset = auditEvents(tessera.logs()).find((e) => e.type === 'password.reset' && e.userId === id);
    expect(reset?.details).toMatchObject({ email_verified: true });
    expect(reset?.details).not.toHaveProperty('passkeys_removed');

    // Signing in with the new password still asks for the code of the app set up before.
    expect(await signInWithCode('noor', PASSWORD, await totpCode(TOTP_SECRET))).toContain('Harbour App');
  });
});
