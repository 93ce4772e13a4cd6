import type { Context } from 'koa';
import { countPasskeysOf } from '../../db/repositories/passkeys.ts';
import { findUserById } from '../../db/repositories/users.ts';
import type { User } from '../../db/schema.ts';
import { type Enrolment, hasTotp, pendingEnrolment } from '../mfa/factors.ts';
import { isFresh } from '../mfa/fresh-proof.ts';
import { showTotpSetup } from '../mfa/pages.ts';
import { type Interaction, type InteractionDeps, loadInteraction, SIGN_IN_PROMPTS } from './interaction.ts';
import { signInStateOf } from './sign-in-state.ts';

/**
 * The page of the second-factor stage (GET /mfa): the factors the account has (a code from an
 * authenticator app or a recovery code; a passkey), or enrolment when
 * MFA is demanded and it has none. It is part of the same interaction, not a page of its own: the
 * login is only handed to oidc-provider once this stage passes, so no URL skips it. Which account
 * the stage is for is kept on the interaction (sign-in-state.ts), never taken from the form.
 */

export const START_AGAIN = 'Start again: sign in with your password.';
export const FIRST_FACTOR_FIRST = 'Sign in with your password first.';

/** The account this stage is for, or undefined when the interaction never passed a first factor. */
export async function stageUser(deps: InteractionDeps, interaction: Interaction): Promise<User | undefined> {
  const state = signInStateOf(interaction).mfa;
  return state ? findUserById(deps.db, state.userId) : undefined;
}

/** The enrolment this interaction started, while its first factor is still a fresh proof. */
export async function enrolmentOf(deps: InteractionDeps, interaction: Interaction, user: User) {
  if (!isFresh(signInStateOf(interaction).mfa?.provedAt)) return undefined;
  return pendingEnrolment(deps.db, deps.secrets, user);
}

/** The second factors of the account this stage is for; a code form when it is not known yet. */
async function factorsOf(deps: InteractionDeps, user: User | undefined) {
  if (!user) return { totp: true, passkeys: false };
  const [totp, passkeys] = await Promise.all([hasTotp(deps.db, user.id), countPasskeysOf(deps.db, user.id)]);
  return { totp, passkeys: passkeys > 0 };
}

export async function showCode(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  status = 200,
  error?: string,
) {
  const factors = await factorsOf(deps, await stageUser(deps, interaction));
  deps.page(
    ctx,
    'mfa',
    { title: 'Two-step verification', uid: interaction.uid, error, ...factors, passkeyScripts: factors.passkeys },
    status,
  );
}

export const showEnrolment = (
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
      signInUid: interaction.uid,
      lead: 'This account needs a second step at sign-in. Scan the code with an authenticator app, then type the six-digit code it shows.',
    },
    status,
    error,
  );

/** The code or the enrolment this interaction waits for. */
export async function showMfaStep(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const user = await stageUser(deps, interaction);
  if (!user) return showCode(ctx, deps, interaction, 400, FIRST_FACTOR_FIRST);
  const { totp, passkeys } = await factorsOf(deps, user);
  if (totp || passkeys) return showCode(ctx, deps, interaction);
  const enrolment = await enrolmentOf(deps, interaction, user);
  if (!enrolment) return showCode(ctx, deps, interaction, 400, START_AGAIN);
  showEnrolment(ctx, deps, interaction, enrolment);
}
