import type { Context } from 'koa';
import {
  clientNameOf,
  formField,
  type Interaction,
  type InteractionDeps,
  loadInteraction,
  SIGN_IN_PROMPTS,
} from './interaction.ts';
import { signInStateOf } from './sign-in-state.ts';

/**
 * The login page, where every first factor starts: the password form, "Continue with GitHub",
 * "Sign in with a passkey" (shown by its script only), and the notices the steps leave (a wrong password, an unverified address, a GitHub identity
 * waiting to be linked to the account that holds its address).
 */

export interface Notice {
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
  const linking = signInStateOf(interaction).githubLink?.profile;
  deps.page(
    ctx,
    'login',
    {
      title: 'Sign in',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      login: formField(ctx, 'login') || notice.login || linking?.email || interaction.params.login_hint,
      github: !!deps.github,
      passkeyScripts: true,
      ...notice,
      linking,
    },
    status,
  );
}

export async function showLoginStep(ctx: Context, deps: InteractionDeps) {
  await showLogin(ctx, deps, await loadInteraction(ctx, deps, SIGN_IN_PROMPTS));
}
