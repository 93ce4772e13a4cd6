import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { pino } from 'pino';
import type { Db } from '../../db/database.ts';
import { claimDueMail, deleteFinishedMail } from '../../db/repositories/mail-outbox.ts';
import { insertUser } from '../../db/repositories/users.ts';
import { queueResetMail, queueSignupAttemptMail, queueVerificationMail } from '../../server/accounts/account-mail.ts';
import { composeAccountMail } from '../../server/accounts/account-mail-composer.ts';
import { createMailer } from '../../server/email/mailer.ts';
import { type MailOutboxWorker, startMailOutbox } from '../../server/email/outbox.ts';
import { migratedDatabasePerFile } from '../support/database.ts';
import { startTestSmtp, type TestSmtp } from '../support/smtp.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually } from '../support/tessera.ts';

/**
 * The mail outbox on a real database (PGlite, or PostgreSQL with DATABASE_URL) and a real SMTP
 * server behind a proxy the test can break: mail commits with its transaction or not at all,
 * workers polling together send each mail once, an outage is waited out with growing pauses, and
 * a mail that cannot go out is given up and logged without its link.
 */
const ISSUER = 'https://id.example.test';
let db: Db;
let smtp: TestSmtp;
let proxy: TcpProxy;
const workers: MailOutboxWorker[] = [];
const closers: (() => void)[] = [];

migratedDatabasePerFile((opened) => {
  db = opened;
});

beforeAll(async () => {
  smtp = await startTestSmtp();
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(smtp.url).port) });
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  for (const close of closers) close();
  await proxy?.close();
  await smtp?.close();
});

function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: pino({}, stream), lines, text: () => JSON.stringify(lines) };
}

/** A worker as a node runs one; it polls once at start, then the test drives it with sendDue(). */
function worker(options: { smtpUrl?: string; logger?: pino.Logger } = {}) {
  const logger = options.logger ?? pino({ level: 'silent' });
  const mailer = createMailer(
    { smtpUrl: 'smtpUrl' in options ? options.smtpUrl : proxy.url(smtp.url), mailFrom: 'T <t@x.test>', toLog: false },
    logger,
  );
  closers.push(() => mailer.close());
  const started = startMailOutbox(
    { db, mailer, logger, compose: composeAccountMail({ db, issuer: ISSUER }) },
    3_600_000,
  );
  workers.push(started);
  return started;
}

async function newUser(email: string, verified = true) {
  return insertUser(db, {
    id: randomUUID(),
    email,
    username: null,
    name: 'Ada Example',
    password_hash: null,
    email_verified: verified,
  });
}

const rowsTo = (recipient: string) =>
  db.selectFrom('mail_outbox').selectAll().where('recipient', '=', recipient).execute();
const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.toLowerCase() === address);

describe('queueing', () => {
  it('commits a mail with its transaction, and a transaction that fails after queueing leaves no mail', async () => {
    const sender = worker();
    await expect(
      db.transaction().execute(async (trx) => {
        const user = await insertUser(trx, {
          id: randomUUID(),
          email: 'rolled-back@example.test',
          name: null,
          password_hash: null,
          email_verified: false,
        });
        await queueVerificationMail(trx, user);
        throw new Error('a later step failed');
      }),
    ).rejects.toThrow('a later step failed');
    await db.transaction().execute(async (trx) => {
      const user = await insertUser(trx, {
        id: randomUUID(),
        email: 'committed@example.test',
        name: null,
        password_hash: null,
        email_verified: false,
      });
      await queueVerificationMail(trx, user);
    });

    await sender.sendDue();
    await smtp.waitForMail('committed@example.test', 'Verify your email address');
    expect(await rowsTo('rolled-back@example.test')).toHaveLength(0);
    expect(mailsTo('rolled-back@example.test')).toHaveLength(0);
  });

  it('keeps no link in the row, before or after sending', async () => {
    await newUser('linkless@example.test');
    await queueResetMail(db, 'linkless@example.test');
    const before = JSON.stringify(await rowsTo('linkless@example.test'));
    await worker().sendDue();
    const mail = await smtp.waitForMail('linkless@example.test', 'Reset your password');
    const token = new URL(smtp.linkIn(mail, '/reset-password')).searchParams.get('token') ?? '';
    expect(token.length).toBeGreaterThan(20);
    const after = JSON.stringify(await rowsTo('linkless@example.test'));
    for (const row of [before, after]) {
      expect(row).not.toContain(token);
      expect(row).not.toContain('/reset-password');
    }
    expect(after).toContain('"state":"sent"');
  });

  it('sends no reset mail for an address no account uses, and marks the row skipped', async () => {
    await queueResetMail(db, 'no-such-account@example.test');
    await worker().sendDue();
    expect(await rowsTo('no-such-account@example.test')).toMatchObject([{ state: 'skipped', attempts: 1 }]);
    expect(mailsTo('no-such-account@example.test')).toHaveLength(0);
  });
});

describe('several workers', () => {
  it('never claim one row twice, even with 120 claims at once', async () => {
    const addresses = Array.from({ length: 60 }, (_, i) => `claim-${i}@race.test`);
    for (const address of addresses) await queueSignupAttemptMail(db, address);
    const claims = await Promise.all(Array.from({ length: 120 }, () => claimDueMail(db, randomUUID(), 300)));
    const claimed = claims.filter((c) => c !== undefined).map((c) => c.recipient);
    expect(claimed.sort()).toEqual([...addresses].sort());
    // Claimed and leased: nobody else may take them until the lease ends.
    expect(await claimDueMail(db, randomUUID(), 300)).toBeUndefined();
    await db.deleteFrom('mail_outbox').where('recipient', 'like', '%@race.test').execute();
  });

  it('polling together deliver every queued mail exactly once', async () => {
    const addresses = Array.from({ length: 30 }, (_, i) => `once-${i}@example.test`);
    for (const address of addresses) await queueSignupAttemptMail(db, address);
    const nodes = [worker(), worker(), worker(), worker()];
    await Promise.all(nodes.map((node) => node.sendDue()));
    await Promise.all(addresses.map((a) => smtp.waitForMail(a)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const address of addresses) expect(mailsTo(address)).toHaveLength(1);
  });
});

describe('an SMTP outage', () => {
  it('is waited out with growing pauses, and the mail is sent once SMTP is back', async () => {
    const { logger, text } = capturedLogger();
    const sender = worker({ logger });
    await newUser('patient@example.test');
    proxy.refuse();
    try {
      await queueResetMail(db, 'patient@example.test');
      await sender.sendDue();
      const [row] = await db
        .selectFrom('mail_outbox')
        .select([
          'state',
          'attempts',
          'last_error',
          sql<number>`extract(epoch from next_attempt_at - now())`.as('wait'),
        ])
        .where('recipient', '=', 'patient@example.test')
        .execute();
      expect(row).toMatchObject({ state: 'pending', attempts: 1 });
      expect(row?.last_error).toMatch(/Could not send mail through smtp:\/\/127\.0\.0\.1:\d+/);
      expect(Number(row?.wait)).toBeGreaterThan(1);
      expect(Number(row?.wait)).toBeLessThan(3);
      // Not due yet: polling again does not knock on the door again.
      await sender.sendDue();
      expect(await rowsTo('patient@example.test')).toMatchObject([{ attempts: 1 }]);
    } finally {
      proxy.restore();
    }
    await eventually(async () => {
      await sender.sendDue();
      expect(mailsTo('patient@example.test')).toHaveLength(1);
    });
    expect(await rowsTo('patient@example.test')).toMatchObject([{ state: 'sent', attempts: 2 }]);
    expect(text()).toContain('mail not sent yet; will retry');
    expect(text()).not.toContain('token=');
  });
});

describe('a mail that cannot go out', () => {
  it('is given up once it has failed for 24 hours, and logged without its link', async () => {
    const { logger, lines, text } = capturedLogger();
    const sender = worker({ logger, smtpUrl: 'smtp://127.0.0.1:1' });
    await newUser('given-up@example.test');
    await queueResetMail(db, 'given-up@example.test');
    // Queued a day ago, less a second: this failure is its last.
    await db
      .updateTable('mail_outbox')
      .set({ created_at: sql<Date>`now() - interval '23 hours 59 minutes 59 seconds'` } as never)
      .where('recipient', '=', 'given-up@example.test')
      .execute();

    await sender.sendDue();
    expect(await rowsTo('given-up@example.test')).toMatchObject([{ state: 'failed', attempts: 1 }]);
    const given = lines.find((l) => l.msg === 'mail given up');
    expect(given).toMatchObject({ level: 50, mail: { kind: 'reset-password', attempts: 1 } });
    expect(String(given?.reason)).toMatch(/^not sent within 24 hours: Could not send mail/);
    expect(text()).not.toContain('token=');
    expect(text()).not.toContain('/reset-password');
  });

  it('without SMTP outside development, is marked failed at once and logged without its link', async () => {
    const { logger, lines, text } = capturedLogger();
    const sender = worker({ logger, smtpUrl: undefined });
    await newUser('nowhere@example.test');
    await queueResetMail(db, 'nowhere@example.test');

    await sender.sendDue();
    expect(await rowsTo('nowhere@example.test')).toMatchObject([
      { state: 'failed', last_error: 'SMTP_URL is not set' },
    ]);
    expect(lines.find((l) => l.msg === 'mail given up')).toMatchObject({ reason: 'SMTP_URL is not set' });
    expect(text()).not.toContain('token=');
  });
});

describe('the sweep', () => {
  it('deletes finished rows past their time and keeps the pending ones', async () => {
    await queueSignupAttemptMail(db, 'still-pending@example.test');
    const deleted = await deleteFinishedMail(db, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    expect(deleted).toBeGreaterThan(0);
    const left = await db.selectFrom('mail_outbox').select(['state']).execute();
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((row) => row.state === 'pending')).toBe(true);
  });
});
