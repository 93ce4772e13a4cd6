import type { Context } from 'koa';
import { type SignupErrors, type SignupField, signUp } from '../accounts/signup.ts';
import { seenIn } from '../audit/audit.ts';
import {
  clientNameOf,
  formField,
  type Interaction,
  type InteractionDeps,
  loadInteraction,
  SIGN_IN_PROMPTS,
  tooManyAttempts,
} from './interaction.ts';

/**
 * The `create` prompt, also reached from the login page: email, username, full name, password
 * (or a passkey instead: passkey-signup.ts).
 * Errors are shown next to each field and the values kept, except the password. Every accepted
 * form ends on "check your email"; the verification link brings the person back here to sign in.
 */
const KEPT: SignupField[] = ['email', 'username', 'full_name'];

export async function showSignup(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  status = 200,
  errors: SignupErrors = {},
  formError?: string,
) {
  deps.page(
    ctx,
    'signup',
    {
      title: 'Create account',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      values: Object.fromEntries(KEPT.map((f) => [f, formField(ctx, f)])),
      errors,
      formError,
      github: !!deps.github,
      connections: await deps.upstreams.buttons(),
      passkeyScripts: true,
    },
    status,
  );
}

export async function showSignupStep(ctx: Context, deps: InteractionDeps, interaction?: Interaction) {
  await showSignup(ctx, deps, interaction ?? (await loadInteraction(ctx, deps, SIGN_IN_PROMPTS)));
}

export async function submitSignup(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const { allowed, retryAfterSeconds } = await deps.rateLimiter.attempt('signup_ip', ctx.ip);
  if (!allowed) {
    await deps.audit({ type: 'rate_limit.hit', ip: ctx.ip, details: { limit: 'signup_ip' } });
    return showSignup(ctx, deps, interaction, 429, {}, tooManyAttempts(ctx, retryAfterSeconds));
  }
  const trimmed = (name: SignupField) => formField(ctx, name).trim();
  const form: Record<SignupField, string> = {
    email: trimmed('email'),
    username: trimmed('username'),
    full_name: trimmed('full_name'),
    password: formField(ctx, 'password'),
  };
  const result = await signUp(deps, form, {
    ...seenIn(ctx),
    interaction: interaction.uid,
  });
  if (!result.ok) return showSignup(ctx, deps, interaction, 400, result.errors);
  deps.page(ctx, 'check-email', { title: 'Check your email', email: result.email, uid: interaction.uid });
}
