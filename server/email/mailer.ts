import type { Transporter } from 'nodemailer';
import type { Logger } from '../logger.ts';

/**
 * Outgoing mail, as the outbox worker hands it over. With `SMTP_URL` set, mail goes through one
 * pooled SMTP transport. Without it, a mail reaches the log, links included, only when `toLog`
 * says this is a development setup; otherwise it is refused, so no link lands in a production log.
 * Rules this file enforces:
 * - the SMTP credentials never reach an error message or a log line, even when the server echoes
 *   them back: a failure names the host, the error code and the reason, scrubbed of user and password;
 * - a dead server fails a send in seconds, not after nodemailer's default two-minute timeout, so
 *   the worker's lease outlives any send;
 * - a failure says whether trying again can help: the server refusing this message or recipient
 *   (a 5xx other than for authentication) or having nowhere to send is permanent; the rest is not.
 */
export interface Mail {
  to: string;
  subject: string;
  html: string;
  text: string;
}

export interface Mailer {
  /** Sends one mail; rejects with a MailError naming the failure (never the credentials). */
  send(mail: Mail): Promise<void>;
  /** Closes the pooled SMTP connections; a no-op otherwise. */
  close(): void;
}

export class MailError extends Error {
  override name = 'MailError';
  /** True when sending the same mail again cannot succeed. */
  readonly permanent: boolean;
  constructor(message: string, permanent: boolean) {
    super(message);
    this.permanent = permanent;
  }
}

const TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

/** Creates the mailer: SMTP when `smtpUrl` is set (smtp:// or smtps://); else the log when `toLog`; else nowhere. */
export function createMailer(
  options: { smtpUrl: string | undefined; mailFrom: string; toLog: boolean },
  logger: Logger,
): Mailer {
  const { smtpUrl, mailFrom, toLog } = options;
  if (!smtpUrl && toLog) {
    return {
      async send({ to, subject, text }) {
        logger.info({ mail: { to, subject, text } }, 'mail not sent (SMTP_URL unset); contents follow');
      },
      close() {},
    };
  }
  if (!smtpUrl) {
    return {
      async send() {
        throw new MailError('SMTP_URL is not set', true);
      },
      close() {},
    };
  }

  const url = new URL(smtpUrl);
  const target = `${url.protocol}//${url.host}`;
  const credentials = [url.username, url.password].filter((c) => c.length > 0).flatMap((c) => [c, safeDecode(c)]);
  // nodemailer is imported at the first mail: a node that has sent none does not carry it.
  let transport: Promise<Transporter> | undefined;
  const transportNow = () => {
    transport ??= import('nodemailer').then(({ createTransport }) =>
      createTransport({ url: smtpUrl, pool: true, ...TIMEOUTS }, { from: mailFrom }),
    );
    return transport;
  };

  return {
    async send({ to, subject, html, text }) {
      try {
        await (await transportNow()).sendMail({ to, subject, html, text });
      } catch (error) {
        throw new MailError(
          `Could not send mail through ${target}: ${describeFailure(error, credentials)}`,
          isPermanent(error),
        );
      }
    },
    close() {
      void transport?.then(
        (t) => t.close(),
        () => {},
      );
    },
  };
}

function isPermanent(error: unknown): boolean {
  const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
  return typeof responseCode === 'number' && responseCode >= 500 && responseCode < 600 && code !== 'EAUTH';
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
