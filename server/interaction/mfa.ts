import type { Context } from 'koa';
import { findUserById } from '../../db/repositories/users.ts';
import type { User } from '../../db/schema.ts';
import { endOtherSessions } from '../accounts/other-sessions.ts';
import { seenIn } from '../audit/audit.ts';
import type { GitHubProfile } from '../federation/github.ts';
import { linkGitHub } from '../federation/github-accounts.ts';
import { showGitHubFailure } from '../federation/github-failures.ts';
import {
  confirmTotpEnrolment,
  type Enrolment,
  hasTotp,
  pendingEnrolment,
  startTotpEnrolment,
  verifySecondFactor,
} from '../mfa/factors.ts';
import { isFresh } from '../mfa/fresh-proof.ts';
import { showRecoveryCodes, showTotpSetup } from '../mfa/pages.ts';
import { secondFactorWanted } from '../mfa/second-factor-wanted.ts';
import { type FirstFactor, loginResult } from '../oidc/acr.ts';
import { rememberDevice } from '../rate-limit/known-device.ts';
import {
  finishInteraction,
  formField,
  type Interaction,
  type InteractionDeps,
  loadInteraction,
  rememberOnInteraction,
  SIGN_IN_PROMPTS,
  tooManyAttempts,
} from './interaction.ts';

/**
 * The second step of a login: a TOTP or recovery code, or enrolment when MFA is demanded and the
 * person has none. It is part of the same interaction, not a page of its own: the login is only
 * handed to oidc-provider once this step passes, so no URL skips it. Which account the step is
 * for is kept on the interaction (bound to its cookie), never taken from the form.
 * Enrolment needs the first factor proved in this interaction, minutes ago: a session alone (a
 * step-up) is sent back to the login page first, so a stolen cookie cannot add a factor. A new
 * factor ends every other session and grant of the account.
 */

/** Who passed the first step of this sign-in, how, and the GitHub identity to link once it ends. */
export interface FirstStep {
  userId: string;
  methods: FirstFactor[];
  link?: GitHubProfile;
  /** When the first factor was proved in this interaction (seconds); absent when only the session's earlier login stands for it. */
  provedAt?: number;
}

interface MfaState extends FirstStep {
  enrolled?: boolean;
}

const stateOf = (interaction: Interaction) => (interaction.result as { mfa?: MfaState } | undefined)?.mfa;

/** Finishes the login, also answering prompt=create when that is where the person started. */
export async function finishLogin(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  first: FirstStep,
  secondFactor: boolean,
) {
  const { userId } = first;
  const clientId = String(interaction.params.client_id);
  if (first.link) {
    const linked = await linkGitHub(deps.db, userId, first.link);
    await deps.audit({
      type: linked ? 'github.linked' : 'github.failed',
      userId,
      clientId,
      ...seenIn(ctx),
      details: linked ? { github_id: first.link.id, during: 'login' } : { reason: 'already_linked' },
    });
    if (!linked) return showGitHubFailure(ctx, deps.page, 'already_linked', backToLogin(interaction.uid));
  }
  const login = loginResult(userId, first.methods, secondFactor);
  await deps.audit({ type: 'login.succeeded', userId, clientId, ...seenIn(ctx), details: { amr: login.amr } });
  const create = interaction.prompt.name === 'create' ? { create: {} } : {};
  // This browser is now known for the account: its password attempts get a limit of their own.
  rememberDevice(ctx, deps.secrets, userId, deps.issuer.startsWith('https:'));
  await finishInteraction(ctx, deps, { login, ...create }, false);
}

export const backToLogin = (uid: string) => ({ href: `/interaction/${uid}/login`, text: 'Back to sign in' });

/**
 * After the first step (or, for step-up, the existing session): a code, enrolment, or done.
 * False, with nothing done, when enrolment is wanted but the first factor was not proved just now.
 */
export async function continueAfterFirstStep(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  user: User,
  how: Omit<FirstStep, 'userId'>,
): Promise<boolean> {
  const first: FirstStep = { userId: user.id, ...how };
  const wanted = await secondFactorWanted(
    deps.db,
    user.id,
    String(interaction.params.client_id),
    interaction.params.acr_values,
  );
  if (!wanted) {
    await finishLogin(ctx, deps, interaction, first, false);
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

/** The code or the enrolment this interaction waits for. */
export async function showMfaStep(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const user = await stepUser(deps, interaction);
  if (!user) return showCode(ctx, deps, interaction, 400, 'Sign in with your password first.');
  if (await hasTotp(deps.db, user.id)) return showCode(ctx, deps, interaction);
  const enrolment = await enrolmentOf(deps, interaction, user);
  if (!enrolment) return showCode(ctx, deps, interaction, 400, START_AGAIN);
  showEnrolment(ctx, deps, interaction, enrolment);
}

function showCode(ctx: Context, deps: InteractionDeps, interaction: Interaction, status = 200, error?: string) {
  deps.page(ctx, 'mfa', { title: 'Two-step verification', uid: interaction.uid, error }, status);
}

const showEnrolment = (
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  enrolment: Enrolment,
  status = 200,
  error?: string,
) =>
  showTotpSetup(
    ctx,
    deps.page,
    enrolment,
    {
      action: `/interaction/${interaction.uid}/mfa/enrol`,
      lead: 'This account needs a second step at sign-in. Scan the code with an authenticator app, then type the six-digit code it shows.',
    },
    status,
    error,
  );

const START_AGAIN = 'Start again: sign in with your password.';

/** The enrolment this interaction started, while its first factor is still a fresh proof. */
async function enrolmentOf(deps: InteractionDeps, interaction: Interaction, user: User) {
  if (!isFresh(stateOf(interaction)?.provedAt)) return undefined;
  return pendingEnrolment(deps.db, deps.secrets, user);
}

/** The account this step is for, or undefined when the interaction never passed a password. */
async function stepUser(deps: InteractionDeps, interaction: Interaction) {
  const state = stateOf(interaction);
  return state ? findUserById(deps.db, state.userId) : undefined;
}

export async function submitCode(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const user = await stepUser(deps, interaction);
  if (!user) return showCode(ctx, deps, interaction, 400, 'Sign in with your password first.');
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
  await finishLogin(ctx, deps, interaction, stateOf(interaction) as MfaState, true);
}

export async function submitEnrolment(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const user = await stepUser(deps, interaction);
  if (!user) return showCode(ctx, deps, interaction, 400, 'Sign in with your password first.');
  if (!(await enrolmentOf(deps, interaction, user))) return showCode(ctx, deps, interaction, 400, START_AGAIN);
  const codes = await confirmTotpEnrolment(deps.db, deps.secrets, user.id, formField(ctx, 'code'));
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
  await rememberOnInteraction(ctx, deps, { mfa: { ...(stateOf(interaction) as MfaState), enrolled: true } });
  await deps.audit({ type: 'mfa.enabled', userId: user.id, ...seenIn(ctx), details: { during: 'login' } });
  await endOtherSessions(deps, user.id, interaction.session?.uid, 'mfa_enabled', seenIn(ctx));
  showRecoveryCodes(ctx, deps.page, codes, `/interaction/${interaction.uid}/mfa/continue`);
}

export async function continueAfterEnrolment(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const state = stateOf(interaction);
  if (!state?.enrolled) return showCode(ctx, deps, interaction, 400, 'Sign in with your password first.');
  await finishLogin(ctx, deps, interaction, state, true);
}

/** What the step-up showed: its step, or nothing, with the login to ask for again when enrolment needs a fresh proof. */
export type StepUp = { shown: true } | { shown: false; proveAgain?: string };

export const PROVE_BEFORE_ENROLMENT =
  'This app needs two-step verification, which your account does not have yet. Sign in again to set it up.';

/** Step-up: the session has a password login, and this sign-in needs the second factor too. */
export async function showStepUp(ctx: Context, deps: InteractionDeps, interaction: Interaction): Promise<StepUp> {
  const user = interaction.session?.accountId ? await findUserById(deps.db, interaction.session.accountId) : undefined;
  if (!user || user.disabled_at) return { shown: false };
  // The session's own login stands as it was; only the second factor is added to it.
  const amr = (interaction.session as { amr?: string[] } | undefined)?.amr ?? ['pwd'];
  const methods = amr.filter((m): m is FirstFactor => m === 'pwd' || m === 'fed');
  if (await continueAfterFirstStep(ctx, deps, interaction, user, { methods })) return { shown: true };
  return { shown: false, proveAgain: user.username ?? user.email };
}
