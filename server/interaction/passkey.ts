import type { Context } from 'koa';
import { findUserById } from '../../db/repositories/users.ts';
import { seenIn } from '../audit/audit.ts';
import { nowInSeconds } from '../mfa/fresh-proof.ts';
import { boundToInteraction } from '../passkeys/challenges.ts';
import { authenticationOptions } from '../passkeys/passkeys.ts';
import { relyingPartyOf } from '../passkeys/relying-party.ts';
import { type InteractionDeps, loadInteraction, rememberOnInteraction, SIGN_IN_PROMPTS } from './interaction.ts';
import { showLogin } from './login-page.ts';
import { checkPasskeyAnswer } from './passkey-answer.ts';
import { passkeyOptionsAllowed } from './passkey-options-limit.ts';
import { continueSignIn } from './sign-in.ts';
import { signInStateOf } from './sign-in-state.ts';

/**
 * First factor: "Sign in with a passkey", with no password. The options name no account (the
 * browser offers this site's discoverable passkeys) and demand user verification, so a passkey
 * that passes is a complete multi-factor sign-in. The challenge is bound to this interaction:
 * an answer made for another sign-in, or posted twice, is refused. Like a password, it needs a
 * verified address, and it proves the account a pending GitHub identity was offered for.
 */

/** POST …/passkey/options: the WebAuthn request options, as JSON for the page script. */
export async function passkeySignInOptions(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  ctx.set('Cache-Control', 'no-store');
  const boundTo = boundToInteraction(interaction.uid);
  if (!(await passkeyOptionsAllowed(ctx, deps, boundTo))) return;
  ctx.body = await authenticationOptions(deps.db, relyingPartyOf(deps.issuer), boundTo);
}

/** POST …/passkey: the browser's answer, in the form field `response`. */
export async function submitPasskeySignIn(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const seen = { clientId: String(interaction.params.client_id), ...seenIn(ctx) };
  const answer = await checkPasskeyAnswer(ctx, deps, interaction.uid, seen, 'sign_in');
  if ('failure' in answer) return showLogin(ctx, deps, interaction, 400, { error: answer.failure });
  const { use } = answer;
  const user = await findUserById(deps.db, use.passkey.user_id);
  if (!user || user.disabled_at) {
    await deps.audit({
      type: 'login.failed',
      userId: use.passkey.user_id,
      ...seen,
      details: { reason: 'account_disabled' },
    });
    return showLogin(ctx, deps, interaction, 403, { error: 'This account is disabled.' });
  }
  const details = { passkey_id: use.passkey.id, during: 'sign_in', user_verified: use.userVerified };
  await deps.audit({ type: 'passkey.used', userId: user.id, ...seen, details });
  if (!user.email_verified) {
    await rememberOnInteraction(ctx, deps, { unverified: user.id });
    await deps.audit({ type: 'login.unverified', userId: user.id, ...seen });
    return showLogin(ctx, deps, interaction, 403, { unverified: true });
  }
  const pending = signInStateOf(interaction).githubLink;
  const link = pending?.userId === user.id ? pending.profile : undefined;
  await continueSignIn(ctx, deps, interaction, user, {
    methods: link ? ['fed', ...use.amr] : use.amr,
    ...(link ? { link } : {}),
    provedAt: nowInSeconds(),
    multiFactor: use.userVerified,
  });
}
