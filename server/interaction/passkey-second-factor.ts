import type { Context } from 'koa';
import { seenIn } from '../audit/audit.ts';
import { AppError } from '../errors.ts';
import { boundToInteraction } from '../passkeys/challenges.ts';
import { authenticationOptions } from '../passkeys/passkeys.ts';
import { relyingPartyOf } from '../passkeys/relying-party.ts';
import { type InteractionDeps, loadInteraction, SIGN_IN_PROMPTS } from './interaction.ts';
import { FIRST_FACTOR_FIRST, showCode } from './mfa-page.ts';
import { checkPasskeyAnswer } from './passkey-answer.ts';
import { passkeyOptionsAllowed } from './passkey-options-limit.ts';
import { finishSignIn } from './sign-in.ts';
import { signInStateOf } from './sign-in-state.ts';

/**
 * Second factor: one of the passkeys of the account that passed the first factor in this
 * interaction. The options list that account's passkeys only, the challenge is bound to this
 * interaction and made for that account, and a passkey of any other account is refused.
 */

/** POST …/mfa/passkey/options: the WebAuthn request options, as JSON for the page script. */
export async function passkeySecondFactorOptions(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const state = signInStateOf(interaction).mfa;
  if (!state) throw new AppError('invalid_input', FIRST_FACTOR_FIRST);
  ctx.set('Cache-Control', 'no-store');
  const boundTo = boundToInteraction(interaction.uid);
  if (!(await passkeyOptionsAllowed(ctx, deps, boundTo))) return;
  ctx.body = await authenticationOptions(deps.db, relyingPartyOf(deps.issuer), boundTo, state.userId);
}

/** POST …/mfa/passkey: the browser's answer, in the form field `response`. */
export async function submitPasskeySecondFactor(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const state = signInStateOf(interaction).mfa;
  if (!state) return showCode(ctx, deps, interaction, 400, FIRST_FACTOR_FIRST);
  const seen = { userId: state.userId, clientId: String(interaction.params.client_id), ...seenIn(ctx) };
  const answer = await checkPasskeyAnswer(ctx, deps, interaction.uid, seen, 'second_factor');
  if ('failure' in answer) return showCode(ctx, deps, interaction, 400, answer.failure);
  const { use } = answer;
  const details = { passkey_id: use.passkey.id, during: 'second_factor', user_verified: use.userVerified };
  await deps.audit({ type: 'passkey.used', ...seen, details });
  await deps.audit({ type: 'mfa.succeeded', ...seen, details: { method: 'passkey' } });
  await finishSignIn(ctx, deps, interaction, state, use.amr);
}
