import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { findUserByLogin, insertUser } from '../../db/repositories/users.ts';
import type { Audit } from '../audit/audit.ts';
import { type MailDeps, queueSignupAttemptMail, queueVerificationMail } from './account-mail.ts';
import { passwordProblemFor } from './password-policy.ts';
import { hashPassword } from './passwords.ts';

/**
 * Self-service sign-up. Every accepted form ends the same way for the person ("check your
 * email"), whether the address was new or already had an account: the owner of a taken address
 * gets a mail about it instead, so the page never tells who is registered. A taken username is
 * said plainly; usernames are public.
 */
/** What a username may be, wherever one is made: sign-up, the CLI and admin API, GitHub. */
export const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,38}$/;

export const usernameField = z
  .string()
  .regex(USERNAME_PATTERN, 'Use 2–39 letters, digits, dots, dashes or underscores.');
export const fullNameField = z.string().trim().min(1, 'Enter your name.').max(200, 'Use at most 200 characters.');

const fields = z.object({
  email: z.email({ error: 'Enter a valid email address.' }).max(254, 'Use at most 254 characters.'),
  username: usernameField,
  full_name: fullNameField,
  password: z.string(),
});

export type SignupField = keyof z.infer<typeof fields>;
export type SignupErrors = Partial<Record<SignupField, string>>;
export type SignupResult = { ok: true; email: string } | { ok: false; errors: SignupErrors };

export interface SignupDeps extends MailDeps {
  audit: Audit;
}

export async function signUp(
  deps: SignupDeps,
  form: Record<SignupField, string>,
  seen: { ip: string; userAgent: string; interaction?: string },
): Promise<SignupResult> {
  const errors: SignupErrors = {};
  const parsed = fields.safeParse(form);
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const field = issue.path[0] as SignupField;
    errors[field] ??= issue.message;
  }
  const weak = passwordProblemFor(form.password, { email: form.email, username: form.username, name: form.full_name });
  if (weak) errors.password = weak;
  if (!parsed.success || weak) return { ok: false, errors };

  const { email, username, full_name } = parsed.data;
  const passwordHash = await hashPassword(parsed.data.password);
  const usernameOwner = await findUserByLogin(deps.db, username);
  if (usernameOwner && usernameOwner.email.toLowerCase() !== email.toLowerCase()) {
    return { ok: false, errors: { username: 'That username is taken. Try another.' } };
  }
  const audited = { ip: seen.ip, userAgent: seen.userAgent };
  if (usernameOwner || (await findUserByLogin(deps.db, email))) {
    await queueSignupAttemptMail(deps.db, email);
    await deps.audit({ type: 'signup.existing_email', ...audited });
    return { ok: true, email };
  }
  let user: Awaited<ReturnType<typeof insertUser>>;
  try {
    // The verification mail commits with the account, or neither does.
    user = await deps.db.transaction().execute(async (trx) => {
      const inserted = await insertUser(trx, {
        id: randomUUID(),
        email,
        username,
        name: full_name,
        password_hash: passwordHash,
        email_verified: false,
      });
      await queueVerificationMail(trx, inserted, seen.interaction);
      return inserted;
    });
  } catch (err) {
    // Two sign-ups racing for one address or username: the unique index decides.
    const { code, constraint } = err as { code?: string; constraint?: string };
    if (code !== '23505') throw err;
    if (constraint === 'users_email_unique') return { ok: true, email };
    return { ok: false, errors: { username: 'That username is taken. Try another.' } };
  }
  await deps.audit({ type: 'signup', userId: user.id, ...audited });
  return { ok: true, email };
}
