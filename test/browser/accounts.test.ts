import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { freshPagePerTest, launchBrowser, screenshot } from '../support/browser.ts';
import { createUser } from '../support/browser-suite.ts';
import { cookieJar, csrfIn, formClient } from '../support/form-client.ts';
import {
  type ClientApp,
  enterPassword,
  finishAtClient,
  relyingParty,
  signInThroughPages,
  startAuthorization,
  startClientApp,
} from '../support/oidc-flow.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * A person looking after their own account, in the browser: sign-up with a mailed verification
 * link, the login refused until then, password reset by mail, and the 429 after wrong passwords.
 * Mail goes through a real SMTP server started for the test.
 */
const PASSWORD = 'violet kettle under seven moons';

let tessera: RunningTessera;
let smtp: TestSmtp;
let browser: Browser;
let app: ClientApp;
let page: Page;
let spa: { client_id: string };
let config: oidc.Configuration;

beforeAll(async () => {
  [smtp, browser, app] = await Promise.all([startTestSmtp(), launchBrowser(), startClientApp()]);
  // Behind a proxy, so a test can come from several addresses (X-Forwarded-For).
  tessera = await startTessera({ SMTP_URL: smtp.url, MAIL_FROM: 'Tessera <auth@tessera.test>', TRUST_PROXY: 'true' });
  spa = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Garden Planner',
      '--type',
      'spa',
      '--redirect-uri',
      app.redirectUri,
    ])
  ).json();
  config = await relyingParty(tessera.issuer, spa.client_id);
});

freshPagePerTest(
  () => browser,
  (_context, p) => {
    page = p;
  },
);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await tessera?.dispose();
  await smtp?.close();
});

async function fillSignup(values: { email: string; username: string; full_name: string; password: string }) {
  await page.fill('#email', values.email);
  await page.fill('#username', values.username);
  await page.fill('#full_name', values.full_name);
  await page.fill('#password', values.password);
  await page.getByRole('button', { name: 'Create account' }).click();
}

const signIn = (login: string, password: string) => enterPassword(page, login, password);

/** A hundred browsers open a mailed link's page while it is live, then all post its form at once. */
async function postLinkAtOnce(link: string, fields: (i: number) => Record<string, string>) {
  const opened = await Promise.all(
    Array.from({ length: 100 }, async () => {
      const request = cookieJar();
      return { request, csrf: csrfIn(await (await request(link)).text()) ?? '' };
    }),
  );
  return Promise.all(
    opened.map(async ({ request, csrf }, i) => {
      const res = await request(new URL(new URL(link).pathname, link), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, ...fields(i) }),
      });
      return { status: res.status, text: await res.text() };
    }),
  );
}

describe('sign-up', () => {
  it('creates an account, verifies it by mail, and continues to the client with email_verified', async () => {
    const started = await startAuthorization(page, config, app);
    await page.getByRole('link', { name: 'Create account' }).click();
    await screenshot(page, 'accounts-signup');
    await fillSignup({ email: 'june@example.test', username: 'june', full_name: 'June Park', password: PASSWORD });
    expect(await page.textContent('main')).toContain('Check your email');
    expect(await page.textContent('main')).toContain('june@example.test');
    await screenshot(page, 'accounts-check-email');

    const mail = await smtp.waitForMail('june@example.test', 'Verify your email address');
    expect(mail.from).toContain('auth@tessera.test');
    // A mail scanner fetching the link first spends nothing: the page only asks for a click.
    const link = smtp.linkIn(mail, '/verify-email');
    for (const method of ['HEAD', 'GET']) expect((await fetch(link, { method })).status).toBe(200);
    await page.goto(link);
    await screenshot(page, 'accounts-verify-email');
    await page.getByRole('button', { name: 'Verify my email address' }).click();
    expect(await page.textContent('main')).toContain('Your email address is verified');
    await screenshot(page, 'accounts-verified');
    await page.getByRole('link', { name: 'Continue signing in' }).click();

    await signIn('june', PASSWORD);
    await page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await finishAtClient(page, config, app, started);
    expect(tokens.claims()).toMatchObject({
      email: 'june@example.test',
      email_verified: true,
      name: 'June Park',
      preferred_username: 'june',
    });
  });

  it('shows each problem next to its field and keeps the values, never the password', async () => {
    await startAuthorization(page, config, app, { prompt: 'create' });
    expect(await page.textContent('h1')).toBe('Create account');
    await fillSignup({ email: 'not-an-email', username: 'x', full_name: 'Sam', password: 'password1' });
    expect(await page.textContent('#email-error')).toContain('Enter a valid email address.');
    expect(await page.textContent('#username-error')).toContain('Use 2–39 letters');
    expect(await page.textContent('#password-error')).toBeTruthy();
    expect(await page.getAttribute('#email', 'aria-invalid')).toBe('true');
    expect(await page.inputValue('#email')).toBe('not-an-email');
    expect(await page.inputValue('#full_name')).toBe('Sam');
    expect(await page.inputValue('#password')).toBe('');
    await screenshot(page, 'accounts-signup-errors');

    await fillSignup({ email: 'sam@example.test', username: 'june', full_name: 'Sam', password: PASSWORD });
    expect(await page.textContent('#username-error')).toContain('That username is taken.');
  });

  it('answers a taken email like a new one, and tells the address owner instead', async () => {
    await startAuthorization(page, config, app, { prompt: 'create' });
    await fillSignup({
      email: 'June@Example.test',
      username: 'someone-else',
      full_name: 'Mallory',
      password: PASSWORD,
    });
    expect(await page.textContent('h1')).toBe('Check your email');
    const mail = await smtp.waitForMail('june@example.test', 'Someone tried to sign up with your email');
    expect(smtp.linkIn(mail)).toContain('/forgot-password');
  });

  it('mails the owner of a taken address at most 3 times an hour, however many sign-ups name it', async () => {
    await createUser(tessera, { username: 'kim', email: 'kim@example.test', password: PASSWORD });
    const answers = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const client = formClient();
        const headers = { 'x-forwarded-for': `198.51.100.${i + 1}` };
        const interaction = await client.authorize(tessera.issuer, spa.client_id, app.redirectUri, {
          prompt: 'create',
        });
        const fields = { email: 'kim@example.test', username: `not-kim-${i}`, full_name: 'M', password: PASSWORD };
        const res = await client.submit(interaction, `${interaction.pathname}/signup`, fields, headers);
        return { status: res.status, text: await res.text() };
      }),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('Check your email');
    }
    const toKim = () => smtp.mails.filter((m) => m.to.toLowerCase() === 'kim@example.test');
    await eventually(async () => expect(toKim()).toHaveLength(3));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(toKim()).toHaveLength(3);
  });

  it('verifies an address once, however many posts of its link arrive at once', async () => {
    const client = formClient();
    const interaction = await client.authorize(tessera.issuer, spa.client_id, app.redirectUri, { prompt: 'create' });
    const fields = { email: 'lin@example.test', username: 'lin', full_name: 'Lin', password: PASSWORD };
    expect((await client.submit(interaction, `${interaction.pathname}/signup`, fields)).status).toBe(200);
    const link = smtp.linkIn(await smtp.waitForMail('lin@example.test', 'Verify your email address'), '/verify-email');
    const token = new URL(link).searchParams.get('token') ?? '';
    const answers = await postLinkAtOnce(link, () => ({ token }));
    // Exactly one spent the link; the others are told it was used.
    expect(answers.filter((a) => a.text.includes('Your email address is verified'))).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400 && a.text.includes('has expired or was already used'))).toHaveLength(
      99,
    );
  });

  it('will not finish a login before the email is verified, and sends a new link on request', async () => {
    await startAuthorization(page, config, app, { prompt: 'create' });
    await fillSignup({ email: 'kai@example.test', username: 'kai', full_name: 'Kai', password: PASSWORD });
    await smtp.waitForMail('kai@example.test', 'Verify your email address');
    await page.getByRole('link', { name: 'sign in' }).click();
    await signIn('kai@example.test', PASSWORD);
    expect(await page.textContent('main')).toContain('Verify your email address before you sign in');
    await screenshot(page, 'accounts-unverified');
    const before = smtp.mails.filter((m) => m.to.toLowerCase().includes('kai@example.test')).length;
    await page.getByRole('button', { name: 'Send a new link' }).click();
    expect(await page.textContent('main')).toContain('We sent a new link.');
    await eventually(async () =>
      expect(smtp.mails.filter((m) => m.to.toLowerCase().includes('kai@example.test'))).toHaveLength(before + 1),
    );
  });
});

describe('password reset', () => {
  it('answers the same for known and unknown emails, and mails only the known one', async () => {
    const answers = [];
    for (const email of ['june@example.test', 'nobody@example.test']) {
      await page.goto(new URL('/forgot-password', tessera.issuer).href);
      await screenshot(page, 'accounts-forgot-password');
      await page.fill('#email', email);
      await page.getByRole('button', { name: 'Send link' }).click();
      answers.push((await page.textContent('main'))?.replace(email, '<email>'));
    }
    expect(answers[0]).toBe(answers[1]);
    await smtp.waitForMail('june@example.test', 'Reset your password');
    await new Promise((r) => setTimeout(r, 500));
    expect(smtp.mails.some((m) => m.to.includes('nobody@example.test'))).toBe(false);
  });

  it('sets a new password from the mailed link, ends the old sessions and grants, and spends the link', async () => {
    const { tokens } = await signInThroughPages(page, config, {
      app,
      login: 'june',
      password: PASSWORD,
      scope: 'openid',
    });
    expect(tokens?.refresh_token).toBeTruthy();

    const requested = smtp.mails.length;
    await page.goto(new URL('/forgot-password', tessera.issuer).href);
    await page.fill('#email', 'june@example.test');
    await page.getByRole('button', { name: 'Send link' }).click();
    // The newest reset mail: asking again spent the link of the earlier one.
    const resetMail = await eventually(async () => {
      const mail = smtp.mails.slice(requested).find((m) => m.subject === 'Reset your password');
      expect(mail).toBeDefined();
      return mail as NonNullable<typeof mail>;
    });
    const resetLink = smtp.linkIn(resetMail, '/reset-password');

    await page.goto(resetLink);
    await screenshot(page, 'accounts-reset-password');
    await page.fill('#password', 'qwerty123');
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.getByRole('alert').textContent()).toBeTruthy();
    await page.fill('#password', 'a different, equally long passphrase');
    await page.getByRole('button', { name: 'Set password' }).click();
    expect(await page.textContent('main')).toContain('Your password has been changed');
    await screenshot(page, 'accounts-password-changed');

    await expect(oidc.refreshTokenGrant(config, tokens?.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await page.goto(resetLink);
    expect(await page.textContent('main')).toContain('This link has expired or was already used');

    const fresh = await browser.newContext();
    const again = await signInThroughPages(await fresh.newPage(), config, {
      app,
      login: 'june',
      password: 'a different, equally long passphrase',
      scope: 'openid',
    });
    expect(again.tokens?.claims()?.sub).toBe(tokens?.claims()?.sub);
    await fresh.close();
  });

  it('sets one password from a link posted 100 times at once, each with a different password', async () => {
    await createUser(tessera, { username: 'rosa', email: 'rosa@example.test', password: PASSWORD });
    const requested = smtp.mails.length;
    const request = cookieJar();
    const forgot = new URL('/forgot-password', tessera.issuer);
    const csrf = csrfIn(await (await request(forgot)).text()) ?? '';
    await request(forgot, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: 'rosa@example.test', csrf }),
    });
    const link = await eventually(async () => {
      const mail = smtp.mails.slice(requested).find((m) => m.to.includes('rosa@example.test'));
      expect(mail?.subject).toBe('Reset your password');
      return smtp.linkIn(mail as NonNullable<typeof mail>, '/reset-password');
    });
    const token = new URL(link).searchParams.get('token') ?? '';
    const answers = await postLinkAtOnce(link, (i) => ({ token, password: `${PASSWORD} ${i}` }));
    const winners = answers.flatMap((a, i) => (a.text.includes('Your password has been changed') ? [i] : []));
    expect(winners).toHaveLength(1);
    expect(answers.filter((a) => a.status === 400 && a.text.includes('has expired or was already used'))).toHaveLength(
      99,
    );
    const fresh = await browser.newContext();
    const signedIn = await signInThroughPages(await fresh.newPage(), config, {
      app,
      login: 'rosa',
      password: `${PASSWORD} ${winners[0]}`,
      scope: 'openid email',
    });
    expect(signedIn.tokens?.claims()?.email).toBe('rosa@example.test');
    await fresh.close();
  });
});

describe('repeated wrong passwords', () => {
  it('are answered alike for known and unknown accounts, then with 429 and Retry-After', async () => {
    await startAuthorization(page, config, app);
    const texts: string[] = [];
    for (const login of ['kai@example.test', 'ghost@example.test']) {
      await signIn(login, 'wrong password entirely');
      texts.push((await page.getByRole('alert').textContent()) ?? '');
    }
    expect(texts[0]).toBe(texts[1]);

    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
        signIn('kai@example.test', 'still the wrong password'),
      ]);
      statuses.push(response.status());
      if (response.status() === 429) {
        expect(Number(response.headers()['retry-after'])).toBeGreaterThan(0);
        break;
      }
    }
    expect(statuses.at(-1)).toBe(429);
    expect(await page.getByRole('alert').textContent()).toMatch(/Too many attempts\. Try again in \d+ minutes?\./);
    await screenshot(page, 'accounts-rate-limited');
    // Even the right password is not checked while the limit holds.
    await signIn('kai@example.test', PASSWORD);
    expect(await page.getByRole('alert').textContent()).toMatch(/Too many attempts/);
  });

  it('are also counted per account across addresses', async () => {
    await startAuthorization(page, config, app);
    const from = (n: number) => page.context().setExtraHTTPHeaders({ 'x-forwarded-for': `203.0.113.${n}` });
    // Five wrong passwords from each of six addresses: every address stays under its own limit…
    for (let address = 1; address <= 6; address++) {
      await from(address);
      for (let attempt = 0; attempt < 5; attempt++) {
        await signIn('spread@example.test', 'a guess from afar');
        expect(await page.getByRole('alert').textContent()).toContain('Incorrect email, username or password.');
      }
    }
    // …and a seventh address meets the account's own limit at its first try.
    await from(7);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/login') && r.request().method() === 'POST'),
      signIn('spread@example.test', 'a guess from afar'),
    ]);
    expect(response.status()).toBe(429);
    expect(await page.getByRole('alert').textContent()).toMatch(/Too many attempts/);
  });
});

describe('forms', () => {
  it('refuse a post without the CSRF token', async () => {
    const res = await fetch(new URL('/forgot-password', tessera.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: 'email=june%40example.test',
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('This form has expired');
  });
});

describe('the audit trail', () => {
  it('has a line for every security event above, and never a password or a mailed token', () => {
    const events = tessera
      .logs()
      .split('\n')
      .filter((line) => line.includes('"audit"'))
      .map((line) => JSON.parse(line).audit as { type: string; details?: { reason?: string; limit?: string } });
    const types = new Set(events.map((e) => e.type));
    for (const type of [
      'signup',
      'signup.existing_email',
      'email.verified',
      'login.succeeded',
      'login.failed',
      'login.unverified',
      'email.verification_resent',
      'password.reset_requested',
      'password.reset',
      'rate_limit.hit',
    ]) {
      expect(types).toContain(type);
    }
    expect(events.find((e) => e.type === 'login.failed')?.details?.reason).toBe('invalid_credentials');
    const limitsHit = events.filter((e) => e.type === 'rate_limit.hit').map((e) => e.details?.limit);
    expect(limitsHit).toEqual(expect.arrayContaining(['signup_email', 'login_account_ip']));
    const logs = tessera.logs();
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain('a different, equally long passphrase');
    for (const mail of smtp.mails) {
      const token = new URL(smtp.linkIn(mail)).searchParams.get('token');
      if (token) expect(logs).not.toContain(token);
    }
  });
});
