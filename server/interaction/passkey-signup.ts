import { randomUUID } from 'node:crypto';
import type { Context } from 'koa';
import { insertPasskey } from '../../db/repositories/passkeys.ts';
import { type SignupField, signUp, signupIdentity } from '../accounts/signup.ts';
import { seenIn } from '../audit/audit.ts';
import { AppError } from '../errors.ts';
import { boundToInteraction } from '../passkeys/challenges.ts';
import { PASSKEY_FAILURES, PasskeyError } from '../passkeys/passkey-error.ts';
import { registrationOptions, verifyRegistration } from '../passkeys/passkeys.ts';
import { relyingPartyOf } from '../passkeys/relying-party.ts';
import {
  formField,
  type InteractionDeps,
  loadInteraction,
  rememberOnInteraction,
  SIGN_IN_PROMPTS,
  tooManyAttempts,
} from './interaction.ts';
import { passkeyOptionsAllowed } from './passkey-options-limit.ts';
import { signInStateOf } from './sign-in-state.ts';
import { showSignup } from './signup.ts';

/**
 * Sign-up with a passkey instead of a password. The options carry an account id chosen here and
 * kept on the interaction (the passkey's user handle); the answer is checked against a challenge
 * bound to this interaction, then the account is made as any sign-up is (signUp: the same
 * answers whether or not the address is registered, the same pending state), with the passkey
 * stored in the same transaction. The address is still verified before the first sign-in ends.
 */
const identityOf = (ctx: Context) => ({
  email: formField(ctx, 'email').trim(),
  username: formField(ctx, 'username').trim(),
  full_name: formField(ctx, 'full_name').trim(),
});

/** POST …/signup/passkey/options: JSON for the page script, or a JSON error it shows. */
export async function passkeySignupOptions(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const identity = signupIdentity.safeParse(identityOf(ctx));
  if (!identity.success) throw new AppError('invalid_input', identity.error.issues[0]?.message ?? 'Check the fields.');
  ctx.set('Cache-Control', 'no-store');
  const boundTo = boundToInteraction(interaction.uid);
  if (!(await passkeyOptionsAllowed(ctx, deps, boundTo))) return;
  const userId = randomUUID();
  await rememberOnInteraction(ctx, deps, { passkeySignup: { userId } });
  const { email, username, full_name } = identity.data;
  ctx.body = await registrationOptions(
    deps.db,
    relyingPartyOf(deps.issuer),
    { id: userId, email, username, name: full_name },
    boundTo,
    true,
  );
}

/** POST …/signup/passkey: the fields again and the browser's answer (`response`). */
export async function submitPasskeySignup(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const { allowed, retryAfterSeconds } = await deps.rateLimiter.attempt('signup_ip', ctx.ip);
  if (!allowed) {
    await deps.audit({ type: 'rate_limit.hit', ip: ctx.ip, details: { limit: 'signup_ip' } });
    return showSignup(ctx, deps, interaction, 429, {}, tooManyAttempts(ctx, retryAfterSeconds));
  }
  const userId = signInStateOf(interaction).passkeySignup?.userId;
  if (!userId) return showSignup(ctx, deps, interaction, 400, {}, PASSKEY_FAILURES.challenge);
  let passkey: Awaited<ReturnType<typeof verifyRegistration>>;
  try {
    passkey = await verifyRegistration(
      deps.db,
      relyingPartyOf(deps.issuer),
      null,
      boundToInteraction(interaction.uid),
      formField(ctx, 'response'),
      'Passkey',
    );
  } catch (err) {
    if (!(err instanceof PasskeyError)) throw err;
    await deps.audit({ type: 'passkey.failed', ...seenIn(ctx), details: { reason: err.reason, during: 'signup' } });
    return showSignup(ctx, deps, interaction, 400, {}, PASSKEY_FAILURES[err.reason]);
  }
  let stored = false;
  const form: Record<SignupField, string> = { ...identityOf(ctx), password: '' };
  const attach = async (trx: Parameters<typeof insertPasskey>[0], id: string) => {
    if (!(await insertPasskey(trx, { ...passkey, user_id: id }))) throw new PasskeyError('taken');
    stored = true;
  };
  let result: Awaited<ReturnType<typeof signUp>>;
  try {
    result = await signUp(deps, form, { ...seenIn(ctx), interaction: interaction.uid }, { userId, attach });
  } catch (err) {
    // The passkey is already another account's: the transaction made nothing.
    if (!(err instanceof PasskeyError)) throw err;
    return showSignup(ctx, deps, interaction, 400, {}, PASSKEY_FAILURES[err.reason]);
  }
  if (!result.ok) return showSignup(ctx, deps, interaction, 400, result.errors);
  if (stored) {
    await deps.audit({
      type: 'passkey.added',
      userId,
      ...seenIn(ctx),
      details: { passkey_id: passkey.id, aaguid: passkey.aaguid, device_type: passkey.device_type, during: 'signup' },
    });
  }
  deps.page(ctx, 'check-email', { title: 'Check your email', email: result.email, uid: interaction.uid });
}
