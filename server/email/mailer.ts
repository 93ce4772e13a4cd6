import { createTransport } from 'nodemailer';
import type { Logger } from '../logger.ts';

/**
 * Outgoing mail. With `SMTP_URL` set, mail goes through one pooled SMTP transport; without it,
 * mail is written to the log (text body included, since it carries the links a developer needs to
 * follow). Rules this file enforces:
 * - the SMTP credentials never reach an error message or a log line, even when the server echoes
 *   them back: a failure names the host, the error code and the reason, scrubbed of user and password;
 * - a dead server fails a send in seconds, not after nodemailer's default two-minute timeout, since
 *   callers may be answering a browser while they wait.
 */
export interface Mail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

export interface Mailer {
  /** Sends one mail; rejects with an Error naming the failure (never the credentials). */
  send(mail: Mail): Promise<void>;
  /** Closes the pooled SMTP connections; a no-op when mail goes to the log. */
  close(): void;
}

const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/** Creates the mailer: SMTP when `smtpUrl` is set (smtp:// or smtps://), the log otherwise. */
export function createMailer(options: { smtpUrl: string | undefined; mailFrom: string }, logger: Logger): Mailer {
  const { smtpUrl, mailFrom } = options;
  if (!smtpUrl) {
    return {
      async send({ to, subject, text }) {
        logger.info({ mail: { to, subject, text } }, 'mail not sent (SMTP_URL unset); contents follow');
      },
      close() {},
    };
  }

  const url = new URL(smtpUrl);
  const target = `${url.protocol}//${url.host}`;
  const credentials = [url.username, url.password].filter((c) => c.length > 0).flatMap((c) => [c, safeDecode(c)]);
  const transport = createTransport({ url: smtpUrl, pool: true, ...TIMEOUTS }, { from: mailFrom });

  return {
    async send({ to, subject, html, text }) {
      try {
        await transport.sendMail({ to, subject, html, text });
      } catch (error) {
        throw new Error(`Could not send mail through ${target}: ${describeFailure(error, credentials)}`);
      }
    },
    close() {
      transport.close();
    },
  };
}

// The code and reason of a nodemailer error, with every occurrence of a credential masked.
function describeFailure(error: unknown, credentials: string[]): string {
  const code = (error as { code?: unknown } | null)?.code;
  let reason = error instanceof Error ? error.message : String(error);
  for (const secret of credentials) reason = reason.replaceAll(secret, '[redacted]');
  return typeof code === 'string' ? `${code} ${reason}` : reason;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
