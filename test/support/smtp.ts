import type { AddressInfo } from 'node:net';
import { type AddressObject, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/**
 * A real SMTP server for tests, on 127.0.0.1 and a free port: no TLS, no authentication, every
 * message parsed and kept. Tests point Tessera's SMTP_URL at `url` and wait for the mail they
 * expect, then follow the link in it.
 */
export interface ReceivedMail {
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
}

export interface TestSmtp {
  /** `smtp://127.0.0.1:<port>`, ready for SMTP_URL. */
  url: string;
  /** Every mail received so far, oldest first. */
  mails: ReceivedMail[];
  /** The first mail (already received or still to come) to `to` whose subject matches. */
  waitForMail(to: string, subject?: string | RegExp, timeoutMs?: number): Promise<ReceivedMail>;
  /** The first http(s) URL in the text body whose path starts with `pathPrefix`. */
  linkIn(mail: ReceivedMail, pathPrefix?: string): string;
  close(): Promise<void>;
}

interface Waiter {
  matches(mail: ReceivedMail): boolean;
  resolve(mail: ReceivedMail): void;
}

export async function startTestSmtp(): Promise<TestSmtp> {
  const mails: ReceivedMail[] = [];
  // Envelope and header recipients of each mail, lower-cased, for waitForMail to match on.
  const recipients = new WeakMap<ReceivedMail, string[]>();
  const waiters = new Set<Waiter>();

  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // Pooled clients keep their connections open; don't let close() wait 30 s for them.
    closeTimeout: 500,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          const headerTo = addresses(parsed.to);
          const mail: ReceivedMail = {
            to: headerTo.join(', ') || session.envelope.rcptTo.map((r) => r.address).join(', '),
            from: parsed.from?.text ?? '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: parsed.html || '',
          };
          recipients.set(mail, [...headerTo, ...session.envelope.rcptTo.map((r) => r.address)].map(lower));
          mails.push(mail);
          for (const waiter of waiters) if (waiter.matches(mail)) waiter.resolve(mail);
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.server.address() as AddressInfo;

  const matcher = (to: string, subject: string | RegExp | undefined) => (mail: ReceivedMail) =>
    (recipients.get(mail) ?? []).includes(lower(to)) &&
    (subject === undefined || (typeof subject === 'string' ? mail.subject === subject : subject.test(mail.subject)));

  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    waitForMail(to, subject, timeoutMs = 10_000) {
      const matches = matcher(to, subject);
      const found = mails.find(matches);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          matches,
          resolve(mail) {
            clearTimeout(timer);
            waiters.delete(waiter);
            resolve(mail);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          const received = mails.map((m) => `${m.to}: "${m.subject}"`).join('; ') || 'nothing';
          reject(
            new Error(
              `No mail to ${to}${subject ? ` with subject ${subject}` : ''} within ${timeoutMs} ms; received ${received}`,
            ),
          );
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    linkIn(mail, pathPrefix = '') {
      for (const [match] of mail.text.matchAll(/https?:\/\/[^\s<>"']+/g)) {
        // A link that ends a sentence is followed by punctuation that is not part of it.
        const candidate = match.replace(/[.,;:!?)\]]+$/, '');
        const url = URL.parse(candidate);
        if (url?.pathname.startsWith(pathPrefix)) return candidate;
      }
      throw new Error(
        `No link${pathPrefix ? ` under ${pathPrefix}` : ''} in the mail "${mail.subject}":\n${mail.text}`,
      );
    },
    close: () => new Promise<void>((resolve) => server.close(resolve)),
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return objects.flatMap((o) => o.value.flatMap((a) => (a.address ? [a.address] : [])));
}

function lower(address: string): string {
  return address.toLowerCase();
}
