import type { Context } from 'koa';
import { z } from 'zod';
import { revokeEverythingOf } from '../../adapters/account-artifacts.ts';
import { deletePasskeysOf } from '../../db/repositories/passkeys.ts';
import {
  dropPendingUsername,
  findUserById,
  findUserByLogin,
  markEmailVerified,
  updatePasswordHash,
} from '../../db/repositories/users.ts';
import { queueResetMail } from '../accounts/account-mail.ts';
import { checkEmailToken, consumeEmailToken, oneRequestPerLink } from '../accounts/email-tokens.ts';
import { passwordProblemFor } from '../accounts/password-policy.ts';
import { hashPassword } from '../accounts/passwords.ts';
import { isPendingSignup } from '../accounts/pending-signups.ts';
import { seenIn } from '../audit/audit.ts';
import { formField, tooManyAttempts } from '../interaction/interaction.ts';
import { removeMfa } from '../mfa/factors.ts';
import { accountIpKey, accountKey } from '../rate-limit/login-limits.ts';
import type { SelfServiceDeps } from './deps.ts';
import { expiredLink } from './expired-link.ts';

/**
 * /forgot-password answers the same for every address, and does the same work for each (one
 * outbox row; whether a mail goes out is decided when it is sent), so its timing says nothing
 * either; /reset-password takes the mailed single-use link, sets a new password under the
 * sign-up policy, ends every session and grant the user had, and clears the account's shared
 * login limits (the link proved who this is). Spending the link, setting the password and ending
 * the sessions are one transaction: a database failing half-way leaves the old password, sessions
 * and link as they were, never a new password with the old sessions still alive.
 *
 * The link proves who holds the address, so an address not verified yet counts as verified. On a
 * self-service sign-up never verified it is the first such proof, and whoever signed up may be
 * someone else who added their own passkey to wait for the owner to verify the address. So the
 * same transaction also removes that sign-up's passkeys, second factor and the username it asked
 * for: the account is the address holder's, with their password. (An account an operator made or
 * imported keeps its factors: the operator vouched for it.)
 */
const email = z.email().max(254);

export function showForgotPassword(ctx: Context, deps: SelfServiceDeps) {
  deps.page(ctx, 'forgot-password', { title: 'Reset your password' });
}

export async function submitForgotPassword(ctx: Context, deps: SelfServiceDeps) {
  const address = formField(ctx, 'email').trim();
  if (!email.safeParse(address).success) {
    return deps.page(
      ctx,
      'forgot-password',
      { title: 'Reset your password', email: address, error: 'Enter a valid email address.' },
      400,
    );
  }
  for (const [name, key] of [
    ['reset_ip', ctx.ip],
    ['reset_email', address.toLowerCase()],
  ] as const) {
    const { allowed, retryAfterSeconds } = await deps.rateLimiter.attempt(name, key);
    if (!allowed) {
      await deps.audit({ type: 'rate_limit.hit', ip: ctx.ip, details: { limit: name } });
      return deps.page(
        ctx,
        'forgot-password',
        { title: 'Reset your password', email: address, error: tooManyAttempts(ctx, retryAfterSeconds) },
        429,
      );
    }
  }
  const user = await findUserByLogin(deps.db, address);
  const known = user && user.email.toLowerCase() === address.toLowerCase() && !user.disabled_at;
  // Queued for every address alike; the outbox looks the account up when it sends. So this
  // answer does the same database work whether or not the address is registered.
  await queueResetMail(deps.db, address);
  await deps.audit({
    type: 'password.reset_requested',
    userId: known ? user.id : undefined,
    ...seenIn(ctx),
  });
  deps.page(ctx, 'message', {
    title: 'Check your email',
    heading: 'Check your email',
    message: `If an account uses ${address}, we sent it a link to reset the password. The link works for 1 hour.`,
  });
}

const expired = (ctx: Context, deps: SelfServiceDeps) =>
  expiredLink(ctx, deps, {
    message: 'Ask for a new one; it works for 1 hour.',
    link: { href: '/forgot-password', text: 'Reset your password' },
  });

export async function showResetPassword(ctx: Context, deps: SelfServiceDeps) {
  const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
  if (!token || !(await checkEmailToken(deps.db, token, 'reset_password'))) return expired(ctx, deps);
  deps.page(ctx, 'reset-password', { title: 'Choose a new password', token });
}

export async function submitResetPassword(ctx: Context, deps: SelfServiceDeps) {
  const token = formField(ctx, 'token');
  if (!token) return expired(ctx, deps);
  await oneRequestPerLink(token, () => resetWithLink(ctx, deps, token));
}

async function resetWithLink(ctx: Context, deps: SelfServiceDeps, token: string) {
  const password = formField(ctx, 'password');
  const live = await checkEmailToken(deps.db, token, 'reset_password');
  const user = live ? await findUserById(deps.db, live.user_id) : undefined;
  if (!user) return expired(ctx, deps);
  const problem = await passwordProblemFor(password, user);
  if (problem) return deps.page(ctx, 'reset-password', { title: 'Choose a new password', token, error: problem }, 400);
  const hash = await hashPassword(password);
  const reset = await deps.db.transaction().execute(async (trx) => {
    if (!(await consumeEmailToken(trx, token, 'reset_password'))) return undefined;
    await updatePasswordHash(trx, user.id, hash);
    let claimed: { passkeys_removed: number } | undefined;
    if (isPendingSignup(user)) {
      claimed = { passkeys_removed: await deletePasskeysOf(trx, user.id) };
      await removeMfa(trx, user.id);
      await dropPendingUsername(trx, user.id);
    }
    if (!user.email_verified) await markEmailVerified(trx, user.id, user.email);
    return { revoked: await revokeEverythingOf(trx, user.id), claimed };
  });
  if (reset === undefined) return expired(ctx, deps);
  const { revoked, claimed } = reset;
  // The mailed link proved the person holds the address: guesses by others no longer lock them out.
  await deps.rateLimiter.reset('login_account', accountKey(user.id));
  await deps.rateLimiter.reset('login_account_ip', accountIpKey(accountKey(user.id), ctx.ip));
  await deps.audit({
    type: 'password.reset',
    userId: user.id,
    ...seenIn(ctx),
    details: { revoked, ...(user.email_verified ? {} : { email_verified: true }), ...claimed },
  });
  deps.page(ctx, 'message', {
    title: 'Password changed',
    heading: 'Your password has been changed',
    message: 'You have been signed out everywhere. Sign in with your new password from the application you use.',
  });
}
