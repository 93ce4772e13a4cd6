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
 * "Continue with NAME" for each enabled connection, "Sign in with a passkey" (shown by its script only), and the notices the steps leave (a wrong password, an unverified address, a GitHub identity
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
  const state = signInStateOf(interaction);
  const linking = state.githubLink?.profile;
  const connectionLink = state.connectionLink;
  deps.page(
    ctx,
    'login',
    {
      title: 'Sign in',
      uid: interaction.uid,
      clientName: await clientNameOf(deps, interaction),
      login:
        formField(ctx, 'login') ||
        notice.login ||
        linking?.email ||
        connectionLink?.email ||
        interaction.params.login_hint,
      github: !!deps.github,
      connections: await deps.upstreams.buttons(),
      passkeyScripts: true,
      ...notice,
      linking,
      connectionLink,
    },
    status,
  );
}

export async function showLoginStep(ctx: Context, deps: InteractionDeps) {
  await showLogin(ctx, deps, await loadInteraction(ctx, deps, SIGN_IN_PROMPTS));
}
