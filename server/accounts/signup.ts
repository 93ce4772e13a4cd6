import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { findUserByLogin, insertUser } from '../../db/repositories/users.ts';
import type { Audit } from '../audit/audit.ts';
import type { RateLimiter } from '../rate-limit/rate-limits.ts';
import { type MailDeps, queueSignupAttemptMail, queueVerificationMail } from './account-mail.ts';
import { passwordProblemFor } from './password-policy.ts';
import { hashPassword } from './passwords.ts';
import { pendingSignupDeadline } from './pending-signups.ts';

/**
 * Self-service sign-up. The answer never depends on whether the address is registered:
 * - a username someone holds is refused plainly (usernames are public), whatever the address,
 *   the holder's own included;
 * - every other valid form ends on "check your email": a new address gets a verification link,
 *   a registered one's owner gets a mail saying someone tried (at most `signup_email`'s points an
 *   hour, so nobody can flood an inbox with them), and nothing else changes;
 * - a new account is pending: it claims its username only when the address is verified (so an
 *   earlier sign-up's username tells nothing about its address) and expires if never verified;
 * - an account may start with a passkey instead of a password: the passkey is stored with the
 *   account, in the same transaction, and only when the account is new.
 */
/** What a username may be, wherever one is made: sign-up, the CLI and admin API, GitHub. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,38}$/;

export const usernameField = z
  .string()
  .regex(USERNAME_PATTERN, 'Use 2–39 letters, digits, dots, dashes or underscores.');
export const fullNameField = z.string().trim().min(1, 'Enter your name.').max(200, 'Use at most 200 characters.');
/** The fields a passkey sign-up checks before it asks the browser for a passkey. */
export const signupIdentity = z.object({
  email: z.email({ error: 'Enter a valid email address.' }).max(254, 'Use at most 254 characters.'),
  username: usernameField,
  full_name: fullNameField,
});
const fields = signupIdentity.extend({ password: z.string() });

const USERNAME_TAKEN = 'That username is taken. Try another.';

export type SignupField = keyof z.infer<typeof fields>;
export type SignupErrors = Partial<Record<SignupField, string>>;
export type SignupResult = { ok: true; email: string } | { ok: false; errors: SignupErrors };

export interface SignupDeps extends MailDeps {
  audit: Audit;
  rateLimiter: RateLimiter;
}

/** A sign-up with a passkey and no password: the account's id (the passkey's user handle) and what stores the passkey. */
export interface PasskeySignup {
  userId: string;
  attach(trx: Db, userId: string): Promise<void>;
}

export async function signUp(
  deps: SignupDeps,
  form: Record<SignupField, string>,
  seen: { ip: string; userAgent: string; interaction?: string },
  passkey?: PasskeySignup,
): Promise<SignupResult> {
  const errors: SignupErrors = {};
  const parsed = fields.safeParse(form);
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const field = issue.path[0] as SignupField;
    errors[field] ??= issue.message;
  }
  const weak = passkey
    ? undefined
    : await passwordProblemFor(form.password, { email: form.email, username: form.username, name: form.full_name });
  if (weak) errors.password = weak;
  if (!parsed.success || weak) return { ok: false, errors };

  const { email, username, full_name } = parsed.data;
  const passwordHash = passkey ? null : await hashPassword(parsed.data.password);
  // The username first, and only against claimed usernames: the answer must not depend on
  // whether the address is registered, nor on any earlier sign-up's address.
  if (await findUserByLogin(deps.db, username)) {
    return { ok: false, errors: { username: USERNAME_TAKEN } };
  }
  const audited = { ip: seen.ip, userAgent: seen.userAgent };
  if (await findUserByLogin(deps.db, email)) {
    const mail = await deps.rateLimiter.attempt('signup_email', email.toLowerCase());
    if (mail.allowed) await queueSignupAttemptMail(deps.db, email);
    else await deps.audit({ type: 'rate_limit.hit', ...audited, details: { limit: 'signup_email' } });
    await deps.audit({ type: 'signup.existing_email', ...audited });
    return { ok: true, email };
  }
  let user: Awaited<ReturnType<typeof insertUser>>;
  try {
    // The verification mail commits with the account, or neither does.
    user = await deps.db.transaction().execute(async (trx) => {
      const inserted = await insertUser(trx, {
        id: passkey?.userId ?? randomUUID(),
        email,
        username: null,
        pending_username: username,
        pending_until: pendingSignupDeadline(),
        name: full_name,
        password_hash: passwordHash,
        email_verified: false,
      });
      await passkey?.attach(trx, inserted.id);
      await queueVerificationMail(trx, inserted, seen.interaction);
      return inserted;
    });
  } catch (err) {
    // Two sign-ups racing for one address: the unique index decides, and both see the same page.
    if ((err as { code?: string }).code !== '23505') throw err;
    return { ok: true, email };
  }
  await deps.audit({
    type: 'signup',
    userId: user.id,
    ...audited,
    ...(passkey ? { details: { via: 'passkey' } } : {}),
  });
  return { ok: true, email };
}
