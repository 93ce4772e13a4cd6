import type { Context } from 'koa';
import { seenIn } from '../audit/audit.ts';
import { verifySecondFactor } from '../mfa/factors.ts';
import { formField, type InteractionDeps, loadInteraction, SIGN_IN_PROMPTS, tooManyAttempts } from './interaction.ts';
import { FIRST_FACTOR_FIRST, showCode, stageUser } from './mfa-page.ts';
import { finishSignIn } from './sign-in.ts';
import { signInStateOf } from './sign-in-state.ts';

/**
 * Second factor: a TOTP code or a recovery code, for the account that passed the first factor
 * in this interaction. Attempts are counted per account before the code is checked.
 */
export async function submitCode(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const state = signInStateOf(interaction).mfa;
  const user = await stageUser(deps, interaction);
  if (!state || !user) return showCode(ctx, deps, interaction, 400, FIRST_FACTOR_FIRST);
  const limit = await deps.rateLimiter.attempt('totp_account', user.id);
  if (!limit.allowed) {
    await deps.audit({ type: 'rate_limit.hit', userId: user.id, ...seenIn(ctx), details: { limit: 'totp_account' } });
    return showCode(ctx, deps, interaction, 429, tooManyAttempts(ctx, limit.retryAfterSeconds));
  }
  const method = await verifySecondFactor(deps.db, deps.secrets, user.id, formField(ctx, 'code'));
  if (!method) {
    await deps.audit({ type: 'mfa.failed', userId: user.id, ...seenIn(ctx) });
    return showCode(ctx, deps, interaction, 400, 'That code is not right, or was already used.');
  }
  await limit.succeeded();
  await deps.audit({ type: 'mfa.succeeded', userId: user.id, ...seenIn(ctx), details: { method } });
  await finishSignIn(ctx, deps, interaction, state, ['otp']);
}
