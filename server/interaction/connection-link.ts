import type { Context } from 'koa';
import { endOtherSessions } from '../accounts/other-sessions.ts';
import { seenIn } from '../audit/audit.ts';
import { linkUpstream } from '../federation/upstream-accounts.ts';
import { showUpstreamFailure } from '../federation/upstream-failures.ts';
import type { Interaction, InteractionDeps } from './interaction.ts';
import type { FirstStep } from './sign-in-state.ts';

/**
 * At the end of a sign-in that proved an account's password after "Continue with NAME" found its
 * address taken: the upstream identity is linked to that account, and, as after any new way in,
 * the account's other sessions end. False, with the failure page
 * shown, when the identity or the account's slot for the connection was taken meanwhile.
 */
export async function linkUpstreamAtSignIn(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  userId: string,
  link: NonNullable<FirstStep['upstreamLink']>,
): Promise<boolean> {
  const linked = await linkUpstream(deps.db, userId, link);
  await deps.audit({
    type: linked ? 'upstream.linked' : 'upstream.failed',
    userId,
    clientId: String(interaction.params.client_id),
    ...seenIn(ctx),
    details: { connection_id: link.connectionId, ...(linked ? { during: 'login' } : { reason: 'already_linked' }) },
  });
  if (linked) {
    await endOtherSessions(deps, userId, interaction.session?.uid, 'upstream_linked', seenIn(ctx));
    return true;
  }
  const name = (await deps.upstreams.open(link.connectionId))?.connection.name ?? 'the sign-in service';
  showUpstreamFailure(ctx, deps.page, 'already_linked', name, {
    href: `/interaction/${interaction.uid}/login`,
    text: 'Back to sign in',
  });
  return false;
}
