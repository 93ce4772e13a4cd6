import type { Context } from 'koa';
import type { seenIn } from '../audit/audit.ts';
import { boundToInteraction } from '../passkeys/challenges.ts';
import { PASSKEY_FAILURES, PasskeyError } from '../passkeys/passkey-error.ts';
import { type PasskeyUse, verifyPasskeyUse } from '../passkeys/passkeys.ts';
import { relyingPartyOf } from '../passkeys/relying-party.ts';
import { formField, type InteractionDeps } from './interaction.ts';

/**
 * Checks the browser's passkey answer (form field `response`) against the challenge bound to this
 * interaction, for a sign-in or a second factor (then only `userId`'s passkeys count). A refusal
 * is audited here and comes back as the message the page shows; the caller chooses the page.
 */
export async function checkPasskeyAnswer(
  ctx: Context,
  deps: InteractionDeps,
  interactionUid: string,
  seen: { userId?: string; clientId: string } & ReturnType<typeof seenIn>,
  during: 'sign_in' | 'second_factor',
): Promise<{ use: PasskeyUse } | { failure: string }> {
  try {
    const use = await verifyPasskeyUse(
      deps.db,
      relyingPartyOf(deps.issuer),
      boundToInteraction(interactionUid),
      formField(ctx, 'response'),
      during === 'second_factor' ? seen.userId : undefined,
    );
    return { use };
  } catch (err) {
    if (!(err instanceof PasskeyError)) throw err;
    await deps.audit({ type: 'passkey.failed', ...seen, details: { reason: err.reason, during } });
    return { failure: PASSKEY_FAILURES[err.reason] };
  }
}
