import type { Context } from 'koa';
import { changeEndingOtherSessions } from '../accounts/other-sessions.ts';
import { seenIn } from '../audit/audit.ts';
import { linkUpstream } from '../federation/upstream-accounts.ts';
import { showUpstreamFailure } from '../federation/upstream-failures.ts';
import type { Interaction, InteractionDeps } from './interaction.ts';
import type { FirstStep } from './sign-in-state.ts';

/**
 * At the end of a sign-in that proved an account's password after "Continue with NAME" found its
 * address taken: the upstream identity is linked to that account and, as after any new way in,
 * the account's other sessions end. False, with the failure page shown, when the identity or the
 * account's slot for the connection was taken meanwhile.
 */
export async function linkUpstreamAtSignIn(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  userId: string,
  link: NonNullable<FirstStep['upstreamLink']>,
): Promise<boolean> {
  const clientId = String(interaction.params.client_id);
  const seen = seenIn(ctx);
  const linked = await changeEndingOtherSessions(deps, {
    userId,
    keepSessionUid: interaction.session?.uid,
    change: 'upstream_linked',
    seen,
    make: (trx) => linkUpstream(trx, userId, link),
    audited: {
      type: 'upstream.linked',
      userId,
      clientId,
      ...seen,
      details: { connection_id: link.connectionId, during: 'login' },
    },
  });
  if (linked) return true;
  await deps.audit({
    type: 'upstream.failed',
    userId,
    clientId,
    ...seen,
    details: { connection_id: link.connectionId, reason: 'already_linked' },
  });
  const name = (await deps.upstreams.open(link.connectionId))?.connection.name ?? 'the sign-in service';
  showUpstreamFailure(ctx, deps.page, 'already_linked', name, {
    href: `/interaction/${interaction.uid}/login`,
    text: 'Back to sign in',
  });
  return false;
}
