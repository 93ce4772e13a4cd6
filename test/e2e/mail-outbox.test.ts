import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { formClient } from '../support/form-client.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Mail goes through the outbox: an SMTP outage delays mail and loses none, a stopping server
 * finishes the mail it is sending, and a verification mail carries nothing the person signing up
 * typed. SMTP is the real test server behind a TCP proxy the test can break.
 */
const PASSWORD = 'violet kettle under seven moons';
const REDIRECT = 'https://app.example.test/callback';

let smtp: TestSmtp;
let proxy: TcpProxy;
let tessera: RunningTessera;
let spa: { client_id: string };

beforeAll(async () => {
  smtp = await startTestSmtp();
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(smtp.url).port) });
  tessera = await startTessera({ SMTP_URL: proxy.url(smtp.url), TRUST_PROXY: 'true' });
  spa = (
    await tessera.cli(['clients', 'create', '--name', 'Notes', '--type', 'spa', '--redirect-uri', REDIRECT])
  ).json();
});

afterAll(async () => {
  await tessera?.dispose();
  await proxy?.close();
  await smtp?.close();
});

const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.toLowerCase() === address);
const quietFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function signUp(fields: { email: string; username: string; full_name: string }, ip: string) {
  const client = formClient();
  const headers = { 'x-forwarded-for': ip };
  const interaction = await client.authorize(tessera.issuer, spa.client_id, REDIRECT, { prompt: 'create' });
  const res = await client.submit(
    interaction,
    `${interaction.pathname}/signup`,
    { ...fields, password: PASSWORD },
    headers,
  );
  return { status: res.status, text: await res.text() };
}

describe('while SMTP refuses connections', () => {
  it('sign-up answers as usual, and the verification mail arrives once SMTP is back, exactly once', async () => {
    proxy.refuse();
    try {
      const answer = await signUp(
        { email: 'outage@example.test', username: 'outage', full_name: 'Olive Outage' },
        '198.51.100.1',
      );
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('Check your email');
      // The worker has tried, met the outage, and will try again.
      await eventually(async () => expect(tessera.logs()).toContain('mail not sent yet; will retry'));
      expect(mailsTo('outage@example.test')).toHaveLength(0);
    } finally {
      proxy.restore();
    }

    const mail = await smtp.waitForMail('outage@example.test', 'Verify your email address', 30_000);
    const link = smtp.linkIn(mail, '/verify-email');
    const token = new URL(link).searchParams.get('token') ?? '';
    const verified = await formClient().submit(link, '/verify-email', { token });
    expect(await verified.text()).toContain('Your email address is verified');
    await quietFor(3000);
    expect(mailsTo('outage@example.test')).toHaveLength(1);
  });
});

describe('a verification mail', () => {
  it('carries nothing the person signing up chose: no name, no username', async () => {
    const bait = 'Claim your prize at http://prize.example.test today';
    const answer = await signUp(
      { email: 'victim@example.test', username: 'prizes4u', full_name: bait },
      '198.51.100.2',
    );
    expect(answer.status).toBe(200);

    const mail = await smtp.waitForMail('victim@example.test', 'Verify your email address');
    for (const body of [mail.text, mail.html]) {
      expect(body).not.toContain('prize');
      expect(body).not.toContain('Claim');
      expect(body).not.toContain('prizes4u');
    }
    expect(mail.text).toMatch(/^Hi,$/m);
    expect(smtp.linkIn(mail, '/verify-email')).toMatch(/^http:\/\/localhost:\d+\/verify-email\?token=/);
  });

  it('nor does a password reset mail to that still unverified address', async () => {
    const client = formClient();
    const page = new URL('/forgot-password', tessera.issuer);
    const headers = { 'x-forwarded-for': '198.51.100.3' };
    const res = await client.submit(page, page, { email: 'victim@example.test' }, headers);
    expect(res.status).toBe(200);

    const mail = await smtp.waitForMail('victim@example.test', 'Reset your password');
    expect(mail.text).not.toContain('prize');
    expect(mail.html).not.toContain('prize');
    expect(mail.text).toMatch(/^Hi,$/m);
  });
});

describe('a server told to stop', () => {
  it('finishes the mail it is sending before it exits, and does not send it again after a restart', async () => {
    (await tessera.cli(['users', 'create', '--email', 'drain@example.test', '--password-stdin'], PASSWORD)).json();
    // A slow SMTP link: each new connection waits 3 s before it reaches the server.
    proxy.cut();
    proxy.delay(3000);
    try {
      const page = new URL('/forgot-password', tessera.issuer);
      const res = await formClient().submit(
        page,
        page,
        { email: 'drain@example.test' },
        { 'x-forwarded-for': '198.51.100.4' },
      );
      expect(res.status).toBe(200);
      await eventually(async () => expect(proxy.openConnections).toBeGreaterThan(0));
      expect(mailsTo('drain@example.test')).toHaveLength(0);
      await tessera.stop();
    } finally {
      proxy.restore();
    }
    expect(mailsTo('drain@example.test')).toHaveLength(1);
    expect(mailsTo('drain@example.test')[0]?.subject).toBe('Reset your password');

    // Marked sent before the exit: after a restart nothing waits, and nothing goes out again.
    await tessera.restart();
    const metrics = await (await fetch(new URL('/metrics', tessera.issuer))).text();
    expect(metrics).toMatch(/^tessera_mail_outbox_pending 0$/m);
    await quietFor(3000);
    expect(mailsTo('drain@example.test')).toHaveLength(1);
  });
});
