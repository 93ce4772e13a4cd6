import type { Context } from 'koa';
import { findUserById } from '../../db/repositories/users.ts';
import type { User } from '../../db/schema.ts';
import { seenIn } from '../audit/audit.ts';
import { startTotpEnrolment } from '../mfa/factors.ts';
import { isFresh } from '../mfa/fresh-proof.ts';
import { secondFactorWanted } from '../mfa/second-factor-wanted.ts';
import { type FirstFactor, loginResult, type SecondFactor } from '../oidc/acr.ts';
import { rememberDevice } from '../rate-limit/known-device.ts';
import { linkAtSignIn } from './connection-link.ts';
import { finishInteraction, type Interaction, type InteractionDeps, rememberOnInteraction } from './interaction.ts';
import type { FirstStep } from './sign-in-state.ts';

/**
 * The sign-in pipeline. Every way in passes these stages in order, and this file alone decides
 * which one comes next:
 *
 *   1. first factor    password.ts (password), github.ts (GitHub), connection.ts (an upstream
 *                      connection), passkey.ts (a passkey): proves who the person is, then
 *                      calls continueSignIn; a passkey with user verification is multi-factor on
 *                      its own and goes straight to finish
 *   2. second factor   second-factor.ts (TOTP or recovery code), passkey-second-factor.ts (a
 *                      passkey), when secondFactorWanted says so
 *   3. enrolment       enrolment.ts, when MFA is demanded and the account has no factor yet
 *   4. finish          finishSignIn: link a pending identity (ending the account's other
 *                      sessions, as linking on /account does), record amr/acr, audit, and hand
 *                      the login to oidc-provider
 *   5. consent         consent.ts, the provider's next prompt
 *
 * Steps never import each other: they import this file, interaction.ts, sign-in-state.ts and the
 * page files (login-page.ts, mfa-page.ts). What a step hands on is kept on the interaction
 * (sign-in-state.ts), bound to its cookie, never taken from a form.
 *
 * To add a first factor: a file of routes (listed in router.ts) that, once the person is proved,
 * calls `continueSignIn(ctx, deps, interaction, user, { methods: [AMR], provedAt: nowInSeconds() })`;
 * its RFC 8176 value goes into FirstFactor (oidc/acr.ts) and the state schema.
 * To add a second factor: a POST that reads `signInStateOf(interaction).mfa` for the account,
 * checks the factor, and calls `finishSignIn(ctx, deps, interaction, state, [AMR…])`; the MFA page
 * (mfa-page.ts) offers it.
 *
 * Enrolment needs the first factor proved in this interaction, minutes ago: a session alone (a
 * step-up) is sent back to the login page first, so a stolen cookie cannot add a factor.
 */

/**
 * After the first factor (or, for step-up, the existing session): a second factor, enrolment, or
 * done. False, with nothing done, when enrolment is wanted but the first factor was not proved just now.
 */
export async function continueSignIn(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  user: User,
  how: Omit<FirstStep, 'userId'>,
): Promise<boolean> {
  const first: FirstStep = { userId: user.id, ...how };
  if (first.multiFactor) {
    await finishSignIn(ctx, deps, interaction, first, []);
    return true;
  }
  const wanted = await secondFactorWanted(
    deps.db,
    deps.catalog,
    user.id,
    String(interaction.params.client_id),
    interaction.params.acr_values,
  );
  // An upstream's second factor, when its connection is trusted for it, stands for ours.
  if (!wanted || first.upstreamMfa) {
    await finishSignIn(ctx, deps, interaction, first, first.upstreamMfa ? ['mfa'] : []);
    return true;
  }
  if (wanted === 'enrol' && !isFresh(first.provedAt)) return false;
  await rememberOnInteraction(ctx, deps, { mfa: first });
  if (wanted === 'enrol') await startTotpEnrolment(deps.db, deps.secrets, user);
  // By redirect: a reload then shows this step again, instead of repeating what led to it.
  ctx.status = 303;
  ctx.redirect(`/interaction/${interaction.uid}/mfa`);
  return true;
}

/**
 * Finishes the login with the factors passed (`second` empty when none was wanted), also
 * answering prompt=create when that is where the person started.
 */
export async function finishSignIn(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  first: FirstStep,
  second: SecondFactor[],
) {
  const { userId } = first;
  const clientId = String(interaction.params.client_id);
  if (!(await linkAtSignIn(ctx, deps, interaction, first))) return;
  const login = loginResult(userId, first.methods, second, first.multiFactor);
  await deps.audit({ type: 'login.succeeded', userId, clientId, ...seenIn(ctx), details: { amr: login.amr } });
  const create = interaction.prompt.name === 'create' ? { create: {} } : {};
  // This browser is now known for the account: its password attempts get a limit of their own.
  rememberDevice(ctx, deps.secrets, userId, deps.issuer.startsWith('https:'));
  await finishInteraction(ctx, deps, { login, ...create }, false);
}

/** What the step-up showed: its step, or nothing, with the login to ask for again when enrolment needs a fresh proof. */
export type StepUp = { shown: true } | { shown: false; proveAgain?: string };

export const PROVE_BEFORE_ENROLMENT =
  'This app needs two-step verification, which your account does not have yet. Sign in again to set it up.';

/** Step-up: the session has a first-factor login, and this sign-in needs the second factor too. */
export async function showStepUp(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<StepUp> {
  const user = interaction.session?.accountId ? await findUserById(deps.db, interaction.session.accountId) : undefined;
  if (!user || user.disabled_at) return { shown: false };
  // The session's own login stands as it was; only the second factor is added to it.
  const amr = (interaction.session as { amr?: string[] } | undefined)?.amr ?? ['pwd'];
  const methods = amr.filter((m): m is FirstFactor => m === 'pwd' || m === 'fed');
  if (await continueSignIn(ctx, deps, interaction, user, { methods })) return { shown: true };
  return { shown: false, proveAgain: user.username ?? user.email };
}
