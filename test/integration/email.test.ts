import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { createMailer, type Mailer } from '../../server/email/mailer.ts';
import { renderEmail } from '../../server/email/templates.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';

/**
 * Mail leaves through real SMTP with both bodies, links intact. Without SMTP_URL it goes to the log
 * only in a development setup; otherwise it is refused, and nothing of it reaches the log.
 */
const MAIL_FROM = 'Tessera <no-reply@tessera.test>';
const silent = pino({ level: 'silent' });
let smtp: TestSmtp;
let mailer: Mailer;

beforeAll(async () => {
  smtp = await startTestSmtp();
  mailer = createMailer({ smtpUrl: smtp.url, mailFrom: MAIL_FROM, toLog: false }, silent);
});

afterAll(async () => {
  mailer.close();
  await smtp.close();
});

function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({}, stream), lines };
}

describe('email through SMTP', () => {
  it('delivers a verification mail with the link intact in both bodies', async () => {
    const link = 'http://localhost:3000/verify-email?token=abc123&next=%2Faccount';
    await mailer.send({
      to: 'Ada@Example.test',
      ...renderEmail('verify-email', { productName: 'Tessera', link, name: 'Ada', expiresIn: '24 hours' }),
    });

    const mail = await smtp.waitForMail('ada@example.test', 'Verify your email address');
    expect(mail.to.toLowerCase()).toBe('ada@example.test');
    expect(mail.from).toContain('no-reply@tessera.test');
    expect(mail.from).toContain('Tessera');
    expect(mail.subject).toBe('Verify your email address');
    expect(mail.text).toContain('Hi Ada,');
    expect(mail.text).toContain(link);
    expect(mail.text).toContain('24 hours');
    expect(mail.text).toMatch(/ignore this email/);
    expect(mail.text).not.toContain('&amp;');
    expect(smtp.linkIn(mail, '/verify-email')).toBe(link);
    expect(mail.html).toContain('href="http://localhost:3000/verify-email?token=abc123&amp;next=%2Faccount"');
    expect(mail.html).not.toContain('token=abc123&next');
    expect(mail.html).toMatch(/ignore this email/);
  });

  it('delivers the password reset mail', async () => {
    const link = 'http://localhost:3000/reset-password?token=r3set&uid=7';
    await mailer.send({
      to: 'grace@example.test',
      ...renderEmail('reset-password', { productName: 'Tessera', link, name: null, expiresIn: '1 hour' }),
    });

    const mail = await smtp.waitForMail('grace@example.test', /reset/i);
    expect(mail.subject).toBe('Reset your password');
    expect(mail.text).toContain('Hi,');
    expect(mail.text).toContain('1 hour');
    expect(smtp.linkIn(mail, '/reset-password')).toBe(link);
    expect(mail.html).toContain('href="http://localhost:3000/reset-password?token=r3set&amp;uid=7"');
  });

  it('tells the owner of an email that someone tried to sign up with it, with a way to reset', async () => {
    const link = 'http://localhost:3000/forgot-password?email=linus%40example.test&x=1';
    await mailer.send({
      to: 'linus@example.test',
      ...renderEmail('signup-attempt', { productName: 'Tessera', link, name: 'Linus', expiresIn: '' }),
    });

    const mail = await smtp.waitForMail('linus@example.test', 'Someone tried to sign up with your email');
    expect(mail.text).toMatch(/account already exists/);
    expect(mail.text).not.toContain('expires');
    expect(smtp.linkIn(mail, '/forgot-password')).toBe(link);
    expect(mail.html).toMatch(/account already exists/);
    expect(mail.html).toContain('href="http://localhost:3000/forgot-password?email=linus%40example.test&amp;x=1"');
  });

  it('escapes markup in the name in the HTML body', async () => {
    const name = '<script>alert("x")</script>';
    await mailer.send({
      to: 'mallory@example.test',
      ...renderEmail('verify-email', {
        productName: 'Tessera',
        link: 'http://localhost:3000/v',
        name,
        expiresIn: '24 hours',
      }),
    });

    const mail = await smtp.waitForMail('mallory@example.test');
    expect(mail.html).not.toContain('<script>');
    expect(mail.html).toContain('&lt;script&gt;');
    expect(mail.text).toContain(`Hi ${name},`);
  });

  it('rejects with the server and the reason when the server cannot be reached', async () => {
    const unreachable = createMailer(
      { smtpUrl: 'smtp://mailer:s3cr3t-pass@127.0.0.1:1', mailFrom: MAIL_FROM, toLog: false },
      silent,
    );
    try {
      const sending = unreachable.send({ to: 'a@example.test', subject: 's', html: '<p>h</p>', text: 't' });
      await expect(sending).rejects.toThrow(/^Could not send mail through smtp:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
      // A server that does not answer may answer later: worth another try.
      await expect(sending).rejects.toMatchObject({ permanent: false });
      await sending.catch((error: Error) => {
        expect(error.message).not.toContain('s3cr3t-pass');
        expect(error.message).not.toContain('mailer:');
      });
    } finally {
      unreachable.close();
    }
  });

  it('times out in waitForMail with what was received', async () => {
    await expect(smtp.waitForMail('nobody@example.test', undefined, 200)).rejects.toThrow(
      /No mail to nobody@example\.test within 200 ms; received .*Verify your email address/,
    );
  });
});

describe('email without SMTP_URL', () => {
  it('in development, writes the mail, with its link, to the log and sends nothing', async () => {
    const { logger, lines } = capturedLogger();
    const logOnly = createMailer({ smtpUrl: undefined, mailFrom: MAIL_FROM, toLog: true }, logger);
    const received = smtp.mails.length;
    const link = 'http://localhost:3000/verify-email?token=dev&next=%2F';

    await logOnly.send({
      to: 'dev@example.test',
      ...renderEmail('verify-email', { productName: 'Tessera', link, name: 'Dev', expiresIn: '24 hours' }),
    });
    logOnly.close();

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'mail not sent (SMTP_URL unset); contents follow',
      mail: { to: 'dev@example.test', subject: 'Verify your email address', text: expect.stringContaining(link) },
    });
    expect(lines[0]?.mail).not.toHaveProperty('html');
    expect(smtp.mails).toHaveLength(received);
  });

  it('otherwise refuses the mail for good and logs nothing of it', async () => {
    const { logger, lines } = capturedLogger();
    const nowhere = createMailer({ smtpUrl: undefined, mailFrom: MAIL_FROM, toLog: false }, logger);
    const received = smtp.mails.length;

    const sending = nowhere.send({
      to: 'prod@example.test',
      ...renderEmail('reset-password', {
        productName: 'Tessera',
        link: 'https://id.example.test/reset-password?token=secret-link',
        name: null,
        expiresIn: '1 hour',
      }),
    });
    await expect(sending).rejects.toMatchObject({ message: 'SMTP_URL is not set', permanent: true });
    nowhere.close();

    expect(lines).toHaveLength(0);
    expect(smtp.mails).toHaveLength(received);
  });
});
