import type { Context } from 'koa';
import { findUserById } from '../../db/repositories/users.ts';
import { sendVerificationMail } from '../accounts/account-mail.ts';
import { authenticate } from '../accounts/users.ts';
import { seenIn } from '../audit/audit.ts';
import { AppError } from '../errors.ts';
import { nowInSeconds } from '../mfa/fresh-proof.ts';
import { loginAccountIpKey } from '../rate-limit/rate-limits.ts';
import { gitHubLinkFor, pendingGitHubLink } from './github.ts';
import {
  clientNameOf,
  formField,
  type Interaction,
  type InteractionDeps,
  loadInteraction,
  rememberOnInteraction,
  SIGN_IN_PROMPTS,
  tooManyAttempts,
} from './interaction.ts';
import { continueAfterFirstStep } from './mfa.ts';

/**
 * The `login` prompt (and `create`, when the person signs in instead): email or username and
 * password. Failed attempts count per account+IP and per IP; over either limit the password is
 * not even checked. An account whose email is not verified cannot finish until it is: the page
 * says so and offers a new link, remembered on the interaction so only this browser can ask.
 */

interface Notice {
  error?: string;
  info?: string;
  unverified?: boolean;
  /** The login to fill in, when the page asks a signed-in person to sign in again. */
  login?: string;
}

export async function showLogin(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  status = 200,
  notice: Notice = {},
) {
  const linking = pendingGitHubLink(interaction)?.profile;
  deps.page(
    ctx,
    'login',
    {
      title: 'Sign in',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      login: formField(ctx, 'login') || notice.login || linking?.email || interaction.params.login_hint,
      github: !!deps.github,
      ...notice,
      linking,
    },
    status,
  );
}

export async function showLoginStep(ctx: Context, deps: InteractionDeps) {
  await showLogin(ctx, deps, await loadInteraction(ctx, deps, SIGN_IN_PROMPTS));
}

export async function submitLogin(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const login = formField(ctx, 'login').trim();
  const password = formField(ctx, 'password');
  if (!login || !password) {
    return showLogin(ctx, deps, interaction, 400, { error: 'Enter your email or username and your password.' });
  }
  const seen = { clientId: String(interaction.params.client_id), ...seenIn(ctx) };
  const accountKey = loginAccountIpKey(login, ctx.ip);
  const limits = [
    ['login_account_ip', accountKey],
    ['login_ip', ctx.ip],
    ['login_account', login.toLowerCase()],
  ] as const;
  for (const [name, key] of limits) {
    const { allowed, retryAfterSeconds } = await deps.rateLimiter.peek(name, key);
    if (!allowed) {
      await deps.audit({ type: 'rate_limit.hit', ...seen, details: { limit: name } });
      return showLogin(ctx, deps, interaction, 429, { error: tooManyAttempts(ctx, retryAfterSeconds) });
    }
  }

  let user: Awaited<ReturnType<typeof authenticate>>;
  try {
    user = await authenticate(deps.db, login, password);
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    for (const [name, key] of limits) await deps.rateLimiter.consume(name, key);
    await deps.audit({ type: 'login.failed', ...seen, details: { reason: err.code } });
    return showLogin(ctx, deps, interaction, err.status, { error: err.message });
  }
  await deps.rateLimiter.reset('login_account_ip', accountKey);
  await deps.rateLimiter.reset('login_account', login.toLowerCase());
  if (!user.email_verified) {
    await rememberOnInteraction(ctx, deps, { unverified: user.id });
    await deps.audit({ type: 'login.unverified', userId: user.id, ...seen });
    return showLogin(ctx, deps, interaction, 403, { unverified: true });
  }
  // After "Continue with GitHub" found this address taken, the password proves the account is theirs.
  const link = gitHubLinkFor(interaction, user.id);
  await continueAfterFirstStep(
    ctx,
    deps,
    interaction,
    user,
    link ? { methods: ['fed', 'pwd'], link, provedAt: nowInSeconds() } : { methods: ['pwd'], provedAt: nowInSeconds() },
  );
}

export async function resendVerification(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const userId = (interaction.result as { unverified?: string } | undefined)?.unverified;
  const user = userId ? await findUserById(deps.db, userId) : undefined;
  if (!user || user.email_verified) return showLogin(ctx, deps, interaction);
  const { allowed, retryAfterSeconds } = await deps.rateLimiter.consume('reset_email', `verify|${user.id}`);
  if (!allowed)
    return showLogin(ctx, deps, interaction, 429, { unverified: true, error: tooManyAttempts(ctx, retryAfterSeconds) });
  await sendVerificationMail(deps, user, interaction.uid);
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
