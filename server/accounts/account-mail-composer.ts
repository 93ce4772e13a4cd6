import type { Db } from '../../db/database.ts';
import type { QueuedMail } from '../../db/repositories/mail-outbox.ts';
import { findUserById, findUserByLogin } from '../../db/repositories/users.ts';
import type { Mail } from '../email/mailer.ts';
import type { ComposeMail } from '../email/outbox.ts';
import { type EmailName, renderEmail } from '../email/templates.ts';
import type { AccountMailKind } from './account-mail.ts';
import { EMAIL_TOKEN_TTL_SECONDS, type EmailTokenPurpose, issueEmailToken } from './email-tokens.ts';

/**
 * What a queued account mail says, decided when it is sent. Rules this file enforces:
 * - the link is minted here, just before the attempt (a new one spends the last), so the outbox
 *   never holds a usable link, and a link's lifetime starts when it leaves, not when it was queued;
 * - a mail whose reason has gone (the account is gone, disabled, verified already, or uses another
 *   address now; no account uses the address a reset was asked for) is skipped, not sent;
 * - a mail to an address nobody has verified carries no text the requester chose: the greeting
 *   uses the account's name only once its address is verified (or an operator typed it, in an
 *   invitation).
 */
const HOURS = (seconds: number) =>
  seconds === 3600 ? '1 hour' : seconds % 86_400 === 0 ? `${seconds / 86_400} days` : `${seconds / 3600} hours`;
const sameAddress = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function composeAccountMail(deps: { db: Db; issuer: string }): ComposeMail {
  const render = (to: string, name: EmailName, link: string, who: string | null, ttl: number): Mail => ({
    to,
    ...renderEmail(name, { productName: 'Tessera', link, name: who, expiresIn: ttl ? HOURS(ttl) : '' }),
  });
  const mintLink = async (
    user: { id: string; email: string },
    purpose: EmailTokenPurpose,
    path: string,
    extra: Record<string, string>,
  ) => {
    const token = await issueEmailToken(deps.db, user.id, user.email, purpose);
    const link = new URL(path, deps.issuer);
    link.searchParams.set('token', token);
    for (const [k, v] of Object.entries(extra)) link.searchParams.set(k, v);
    return link.href;
  };

  return async (mail: QueuedMail) => {
    switch (mail.kind as AccountMailKind) {
      case 'verify-email': {
        const user = mail.data.userId ? await findUserById(deps.db, mail.data.userId) : undefined;
        if (!user || user.disabled_at || user.email_verified || !sameAddress(user.email, mail.recipient)) return null;
        const extra: Record<string, string> = mail.data.interaction ? { interaction: mail.data.interaction } : {};
        const link = await mintLink(user, 'verify_email', '/verify-email', extra);
        // Unverified by definition: whoever signed up chose the name, so it stays out.
        return render(user.email, 'verify-email', link, null, EMAIL_TOKEN_TTL_SECONDS.verify_email);
      }
      case 'reset-password': {
        const user = await findUserByLogin(deps.db, mail.recipient);
        if (!user || user.disabled_at || !sameAddress(user.email, mail.recipient)) return null;
        const link = await mintLink(user, 'reset_password', '/reset-password', {});
        const name = user.email_verified ? user.name : null;
        return render(user.email, 'reset-password', link, name, EMAIL_TOKEN_TTL_SECONDS.reset_password);
      }
      case 'invitation': {
        // Spent once the person has a password: a mail still queued then has no reason to go.
        const user = mail.data.userId ? await findUserById(deps.db, mail.data.userId) : undefined;
        if (!user || user.disabled_at || user.password_hash || !sameAddress(user.email, mail.recipient)) return null;
        const link = await mintLink(user, 'invitation', '/invitation', {});
        // The operator typed the name, not a stranger: it may greet the person.
        return render(user.email, 'invitation', link, user.name, EMAIL_TOKEN_TTL_SECONDS.invitation);
      }
      case 'signup-attempt':
        return render(mail.recipient, 'signup-attempt', new URL('/forgot-password', deps.issuer).href, null, 0);
      default:
        return null;
    }
  };
}
