import type { Context } from 'koa';
import { changeEndingOtherSessions } from '../accounts/other-sessions.ts';
import { seenIn } from '../audit/audit.ts';
import { confirmTotpEnrolment, pendingEnrolment } from '../mfa/factors.ts';
import { showRecoveryCodes } from '../mfa/pages.ts';
import {
  formField,
  type InteractionDeps,
  loadInteraction,
  rememberOnInteraction,
  SIGN_IN_PROMPTS,
} from './interaction.ts';
import { enrolmentOf, FIRST_FACTOR_FIRST, START_AGAIN, showCode, showEnrolment, stageUser } from './mfa-page.ts';
import { finishSignIn } from './sign-in.ts';
import { signInStateOf } from './sign-in-state.ts';

/**
 * Enrolment during sign-in, when MFA is demanded and the account has no factor: the TOTP secret
 * the pipeline started, confirmed by a code, then the recovery codes once, then on to finish.
 * It needs the first factor proved in this interaction minutes ago (the pipeline checks that
 * before starting it, mfa-page.ts before showing it). A new factor ends every other session and
 * grant of the account.
 */
export async function submitEnrolment(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const state = signInStateOf(interaction).mfa;
  const user = await stageUser(deps, interaction);
  if (!state || !user) return showCode(ctx, deps, interaction, 400, FIRST_FACTOR_FIRST);
  if (!(await enrolmentOf(deps, interaction, user))) return showCode(ctx, deps, interaction, 400, START_AGAIN);
  const codes = await changeEndingOtherSessions(deps, {
    userId: user.id,
    keepSessionUid: interaction.session?.uid,
    change: 'mfa_enabled',
    seen: seenIn(ctx),
    make: async (trx) => (await confirmTotpEnrolment(trx, deps.secrets, user.id, formField(ctx, 'code'))) ?? false,
    audited: { type: 'mfa.enabled', userId: user.id, ...seenIn(ctx), details: { during: 'login' } },
  });
  if (!codes) {
    const enrolment = await pendingEnrolment(deps.db, deps.secrets, user);
    if (!enrolment) return showCode(ctx, deps, interaction, 400, START_AGAIN);
    return showEnrolment(
      ctx,
      deps,
      interaction,
      enrolment,
      400,
      'That code is not right. Check the time on your phone and try again.',
    );
  }
  await rememberOnInteraction(ctx, deps, { mfa: { ...state, enrolled: true } });
  showRecoveryCodes(ctx, deps.page, codes, `/interaction/${interaction.uid}/mfa/continue`);
}

export async function continueAfterEnrolment(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const state = signInStateOf(interaction).mfa;
  if (!state?.enrolled) return showCode(ctx, deps, interaction, 400, FIRST_FACTOR_FIRST);
  await finishSignIn(ctx, deps, interaction, state, ['otp']);
}
