import type { Db } from '../../db/database.ts';
import type { Mailer } from '../email/mailer.ts';
import { type EmailName, renderEmail } from '../email/templates.ts';
import type { Logger } from '../logger.ts';
import { EMAIL_TOKEN_TTL_SECONDS, type EmailTokenPurpose, issueEmailToken } from './email-tokens.ts';

/**
 * The mails accounts send, each with a single-use link. Sending does not hold up the answer:
 * the page a person sees must take as long whether or not a mail went out, or its timing would
 * tell which emails are registered. A failed send is logged, never shown.
 */
export interface MailDeps {
  db: Db;
  mailer: Mailer;
  logger: Logger;
  issuer: string;
}

const HOURS = (seconds: number) => (seconds === 3600 ? '1 hour' : `${seconds / 3600} hours`);

function deliver(deps: MailDeps, to: string, name: EmailName, link: string, who: string | null, ttl: number) {
  const mail = renderEmail(name, { productName: 'Tessera', link, name: who, expiresIn: HOURS(ttl) });
  deps.mailer
    .send({ to, ...mail })
    .catch((err: Error) => deps.logger.error({ err: err.message, mail: name }, 'mail failed'));
}

async function linkedMail(
  deps: MailDeps,
  user: { id: string; email: string; name: string | null },
  purpose: EmailTokenPurpose,
  path: string,
  extra: Record<string, string> = {},
) {
  const token = await issueEmailToken(deps.db, user.id, user.email, purpose);
  const link = new URL(path, deps.issuer);
  link.searchParams.set('token', token);
  for (const [k, v] of Object.entries(extra)) link.searchParams.set(k, v);
  const name: EmailName = purpose === 'verify_email' ? 'verify-email' : 'reset-password';
  deliver(deps, user.email, name, link.href, user.name, EMAIL_TOKEN_TTL_SECONDS[purpose]);
}

/** The link that verifies the address; `interaction` lets the person continue where they were. */
export function sendVerificationMail(
  deps: MailDeps,
  user: { id: string; email: string; name: string | null },
  interaction?: string,
) {
  return linkedMail(deps, user, 'verify_email', '/verify-email', interaction ? { interaction } : {});
}

export function sendResetMail(deps: MailDeps, user: { id: string; email: string; name: string | null }) {
  return linkedMail(deps, user, 'reset_password', '/reset-password');
}

/** Sign-up with an address that has an account: tell its owner, and offer a reset. */
export function sendSignupAttemptMail(deps: MailDeps, email: string) {
  deliver(deps, email, 'signup-attempt', new URL('/forgot-password', deps.issuer).href, null, 3600);
}
