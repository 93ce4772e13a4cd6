import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import { insertMail } from '../../db/repositories/mail-outbox.ts';
import type { Logger } from '../logger.ts';

/**
 * The mails accounts send, queued in the mail outbox. Rules this file enforces:
 * - a mail is one row written with the caller's `db`, so a caller that passes its transaction
 *   commits the mail with the action that causes it, or neither;
 * - a row holds no link and no text the requester chose: what the mail says is decided when it
 *   is sent (account-mail-composer.ts), and the link is minted then;
 * - queueing costs the same whatever the address, so no answer's timing tells who is registered.
 */
export type AccountMailKind = 'verify-email' | 'reset-password' | 'signup-attempt' | 'invitation';

/** What the pages that queue mail are given. */
export interface MailDeps {
  db: Db;
  logger: Logger;
  issuer: string;
}

function queue(db: Db, kind: AccountMailKind, recipient: string, data: Record<string, string> = {}) {
  return insertMail(db, { id: randomUUID(), kind, recipient, data });
}

/** The link that verifies the address; `interaction` lets the person continue where they were. */
export function queueVerificationMail(db: Db, user: { id: string; email: string }, interaction?: string) {
  return queue(db, 'verify-email', user.email, interaction ? { userId: user.id, interaction } : { userId: user.id });
}

/** A reset link for whichever account uses `address` when the mail is sent; none if no account does. */
export function queueResetMail(db: Db, address: string) {
  return queue(db, 'reset-password', address);
}

/** An operator invited this account: a link to choose its first password. */
export function queueInvitationMail(db: Db, user: { id: string; email: string }) {
  return queue(db, 'invitation', user.email, { userId: user.id });
}

/** Sign-up with an address that has an account: tell its owner, and offer a reset. */
export function queueSignupAttemptMail(db: Db, email: string) {
  return queue(db, 'signup-attempt', email);
}
