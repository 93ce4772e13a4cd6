import type { Context } from 'koa';
import { findUserById, findUserByLogin } from '../../db/repositories/users.ts';
import { queueVerificationMail } from '../accounts/account-mail.ts';
import { checkPassword } from '../accounts/users.ts';
import { seenIn } from '../audit/audit.ts';
import { AppError } from '../errors.ts';
import { nowInSeconds } from '../mfa/fresh-proof.ts';
import { passwordAttemptLimits } from '../rate-limit/login-limits.ts';
import { homeRealm } from './connection-start.ts';
import {
  formField,
  type InteractionDeps,
  loadInteraction,
  rememberOnInteraction,
  SIGN_IN_PROMPTS,
  tooManyAttempts,
} from './interaction.ts';
import { showLogin } from './login-page.ts';
import { continueSignIn } from './sign-in.ts';
import { signInStateOf } from './sign-in-state.ts';

/**
 * First factor: email or username and password, for the `login` prompt (and `create`, when the
 * person signs in instead). Each attempt is counted before the password is checked, per address
 * and per account (rate-limit/login-limits.ts); over any limit the password is not checked at
 * all. An account whose email is not verified cannot finish until it is: the page says so and
 * offers a new link, remembered on the interaction so only this browser can ask.
 */

export async function submitLogin(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const login = formField(ctx, 'login').trim();
  const password = formField(ctx, 'password');
  // An address in a connection's domain signs in there, with or without a password typed here.
  if (await homeRealm(ctx, deps, interaction, login)) return;
  if (!login || !password) {
    return showLogin(ctx, deps, interaction, 400, { error: 'Enter your email or username and your password.' });
  }
  const seen = { clientId: String(interaction.params.client_id), ...seenIn(ctx) };
  const found = await findUserByLogin(deps.db, login);
  const spent = await deps.rateLimiter.attemptAll(passwordAttemptLimits(ctx, deps.secrets, login, found));
  if (!spent.allowed) {
    await deps.audit({ type: 'rate_limit.hit', ...seen, details: { limit: spent.limit } });
    return showLogin(ctx, deps, interaction, 429, { error: tooManyAttempts(ctx, spent.retryAfterSeconds) });
  }

  let user: Awaited<ReturnType<typeof checkPassword>>;
  try {
    user = await checkPassword(deps.db, found, password);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    await deps.audit({ type: 'login.failed', ...seen, details: { reason: err.code } });
    return showLogin(ctx, deps, interaction, err.status, { error: err.message });
  }
  await spent.succeeded();
  if (!user.email_verified) {
    await rememberOnInteraction(ctx, deps, { unverified: user.id });
    await deps.audit({ type: 'login.unverified', userId: user.id, ...seen });
    return showLogin(ctx, deps, interaction, 403, { unverified: true });
  }
  // After "Continue with GitHub" (or with a connection) found this address taken, the password
  // proves the account is theirs; the identity is linked for that account only.
  const state = signInStateOf(interaction);
  const link = state.githubLink?.userId === user.id ? state.githubLink.profile : undefined;
  const upstream = state.connectionLink?.userId === user.id ? state.connectionLink : undefined;
  const upstreamLink = upstream && {
    connectionId: upstream.connectionId,
    subject: upstream.subject,
    displayName: upstream.displayName,
  };
  await continueSignIn(
    ctx,
    deps,
    interaction,
    user,
    link || upstreamLink
      ? { methods: ['fed', 'pwd'], ...(link ? { link } : { upstreamLink }), provedAt: nowInSeconds() }
      : { methods: ['pwd'], provedAt: nowInSeconds() },
  );
}

export async function resendVerification(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const userId = signInStateOf(interaction).unverified;
  const user = userId ? await findUserById(deps.db, userId) : undefined;
  if (!user || user.email_verified) return showLogin(ctx, deps, interaction);
  const { allowed, retryAfterSeconds } = await deps.rateLimiter.attempt('reset_email', `verify|${user.id}`);
  if (!allowed)
    return showLogin(ctx, deps, interaction, 429, { unverified: true, error: tooManyAttempts(ctx, retryAfterSeconds) });
  await queueVerificationMail(deps.db, user, interaction.uid);
  await deps.audit({
    type: 'email.verification_resent',
    userId: user.id,
    ...seenIn(ctx),
  });
  return showLogin(ctx, deps, interaction, 200, {
    unverified: true,
    info: 'We sent a new link. Open it, then sign in again.',
  });
}
