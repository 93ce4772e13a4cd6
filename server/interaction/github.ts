import type { Context } from 'koa';
import { seenIn } from '../audit/audit.ts';
import { GitHubError, type GitHubProfile } from '../federation/github.ts';
import { accountForGitHub } from '../federation/github-accounts.ts';
import { GITHUB_REFUSALS, type GitHubRefusal, showGitHubFailure } from '../federation/github-failures.ts';
import { finishGitHub, startGitHub } from '../federation/github-flow.ts';
import { nowInSeconds } from '../mfa/fresh-proof.ts';
import {
  backToLogin,
  type InteractionDeps,
  loadInteraction,
  rememberOnInteraction,
  SIGN_IN_PROMPTS,
} from './interaction.ts';
import { showLogin } from './login-page.ts';
import { continueSignIn } from './sign-in.ts';
import type { SignInState } from './sign-in-state.ts';

/**
 * First factor: "Continue with GitHub" as a step of the login (or sign-up) interaction: out to GitHub and back
 * to this same interaction, then on like a password login (MFA when enrolled, consent), with
 * `fed` in amr. A verified address that already has an account is not merged: the login page
 * asks for that account's password, and the identity is linked when that login finishes.
 */

export async function startGitHubStep(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  await startGitHub(ctx, deps, interaction.uid);
}

export async function gitHubCallbackStep(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const seen = { clientId: String(interaction.params.client_id), ...seenIn(ctx) };
  const refuse = async (reason: GitHubRefusal, userId?: string) => {
    await deps.audit({ type: 'github.failed', ...(userId ? { userId } : {}), ...seen, details: { reason } });
    showGitHubFailure(ctx, deps.page, reason, backToLogin(interaction.uid));
  };

  let profile: GitHubProfile;
  try {
    profile = await finishGitHub(ctx, deps, interaction.uid);
  } catch (err) {
    if (!(err instanceof GitHubError)) throw err;
    deps.logger.warn({ reason: err.reason, err: err.message }, 'GitHub sign-in failed');
    return refuse(err.reason);
  }
  const account = await accountForGitHub(deps.db, profile);
  if (account.kind === 'email_taken') {
    const { user, linkedElsewhere } = account;
    if (linkedElsewhere) {
      await deps.audit({ type: 'github.failed', userId: user.id, ...seen, details: { reason: 'linked_elsewhere' } });
      return showLogin(ctx, deps, interaction, 409, { error: GITHUB_REFUSALS.linked_elsewhere.message });
    }
    const githubLink: SignInState['githubLink'] = { profile, userId: user.id };
    await rememberOnInteraction(ctx, deps, { githubLink });
    await deps.audit({ type: 'github.link_offered', userId: user.id, ...seen, details: { github_id: profile.id } });
    // To the login page by redirect, so a reload there does not replay GitHub's answer.
    ctx.status = 303;
    return ctx.redirect(`/interaction/${interaction.uid}/login`);
  }
  const { user } = account;
  if (user.disabled_at) return refuse('account_disabled', user.id);
  if (account.kind === 'created') {
    const { replaced } = account;
    if (replaced) {
      await deps.audit({ type: 'signup.unverified_replaced', userId: replaced, ...seen, details: { by: user.id } });
    }
    await deps.audit({ type: 'signup', userId: user.id, ...seen, details: { via: 'github', github_id: profile.id } });
  }
  await continueSignIn(ctx, deps, interaction, user, { methods: ['fed'], provedAt: nowInSeconds() });
}
