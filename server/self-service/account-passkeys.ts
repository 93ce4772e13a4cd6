import type { Context } from 'koa';
import { z } from 'zod';
import { deletePasskey } from '../../db/repositories/passkeys.ts';
import { changeEndingOtherSessions } from '../accounts/other-sessions.ts';
import { seenIn } from '../audit/audit.ts';
import { formField } from '../interaction/interaction.ts';
import { passkeyOptionsAllowed } from '../interaction/passkey-options-limit.ts';
import { boundToSession } from '../passkeys/challenges.ts';
import { PASSKEY_FAILURES, PasskeyError } from '../passkeys/passkey-error.ts';
import { keepPasskey, registrationOptions, verifyRegistration } from '../passkeys/passkeys.ts';
import { relyingPartyOf } from '../passkeys/relying-party.ts';
import { done, proveFirstFactor, render, requireSignIn } from './account.ts';

/**
 * Passkeys on /account. Rules this file enforces:
 * - adding one needs a fresh first-factor proof (the password typed in the form; an account
 *   without one: a sign-in from the last few minutes), checked when the options are made: the
 *   challenge those options carry is bound to this session and lapses within the same minutes,
 *   so the answer can only finish what the proof started;
 * - removing one needs the same proof;
 * - each change ends every other session and grant of the account, as any factor change does.
 */
const passkeyName = z
  .string()
  .trim()
  .max(64)
  .transform((name) => name || 'Passkey');

/** POST /account/passkeys/options: JSON for the page script, or a JSON error it shows. */
export const passkeyRegistrationOptions = requireSignIn(async (ctx, deps, who) => {
  ctx.set('Cache-Control', 'no-store');
  const wrong = await proveFirstFactor(ctx, deps, who, formField(ctx, 'password'));
  if (wrong) {
    ctx.status = wrong.status;
    ctx.body = { error: wrong.status === 429 ? 'rate_limited' : 'invalid_credentials', error_description: wrong.error };
    return;
  }
  const boundTo = boundToSession(who.sessionUid);
  if (!(await passkeyOptionsAllowed(ctx, deps, boundTo))) return;
  ctx.body = await registrationOptions(deps.db, relyingPartyOf(deps.issuer), who.user, boundTo);
});

/** POST /account/passkeys: the browser's answer (`response`) and the name to show. */
export const addPasskey = requireSignIn(async (ctx, deps, who) => {
  const { user, sessionUid } = who;
  const name = passkeyName.safeParse(formField(ctx, 'name'));
  if (!name.success) return render(ctx, deps, who, 400, { passkeyError: 'Use a name of at most 64 characters.' });
  try {
    // The challenge is spent here, outside the change: a refused passkey still used it up.
    const verified = await verifyRegistration(
      deps.db,
      relyingPartyOf(deps.issuer),
      user.id,
      boundToSession(sessionUid),
      formField(ctx, 'response'),
      name.data,
    );
    await changeEndingOtherSessions(deps, {
      userId: user.id,
      keepSessionUid: sessionUid,
      change: 'passkey_added',
      seen: seenIn(ctx),
      make: (trx) => keepPasskey(trx, user.id, verified),
      audited: (passkey) => ({
        type: 'passkey.added',
        userId: user.id,
        ...seenIn(ctx),
        details: { passkey_id: passkey.id, aaguid: passkey.aaguid, device_type: passkey.device_type },
      }),
    });
  } catch (err) {
    if (!(err instanceof PasskeyError)) throw err;
    await deps.audit({
      type: 'passkey.failed',
      userId: user.id,
      ...seenIn(ctx),
      details: { reason: err.reason, during: 'add' },
    });
    return render(ctx, deps, who, 400, { passkeyError: PASSKEY_FAILURES[err.reason] });
  }
  done(ctx, 'passkey-added');
});

/** POST /account/passkeys/:id/remove, with the password. */
export const removePasskey = requireSignIn(async (ctx: Context, deps, who) => {
  const { user, sessionUid } = who;
  const wrong = await proveFirstFactor(ctx, deps, who, formField(ctx, 'password'));
  if (wrong) return render(ctx, deps, who, wrong.status, { passkeyError: wrong.error });
  const id = String(ctx.params.id);
  const removed = await changeEndingOtherSessions(deps, {
    userId: user.id,
    keepSessionUid: sessionUid,
    change: 'passkey_removed',
    seen: seenIn(ctx),
    make: (trx) => deletePasskey(trx, user.id, id),
    audited: { type: 'passkey.removed', userId: user.id, ...seenIn(ctx), details: { passkey_id: id, by: 'self' } },
  });
  if (!removed) {
    return render(ctx, deps, who, 404, { passkeyError: 'That passkey is not on your account any more.' });
  }
  done(ctx, 'passkey-removed');
});
