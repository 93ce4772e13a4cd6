import type { Context } from 'koa';
import type { Db } from '../../db/database.ts';
import { changeEndingOtherSessions, type SignInChange } from '../accounts/other-sessions.ts';
import { seenIn } from '../audit/audit.ts';
import { linkGitHub } from '../federation/github-accounts.ts';
import { showGitHubFailure } from '../federation/github-failures.ts';
import { linkUpstream } from '../federation/upstream-accounts.ts';
import { showUpstreamFailure } from '../federation/upstream-failures.ts';
import { backToLogin, type Interaction, type InteractionDeps } from './interaction.ts';
import type { FirstStep } from './sign-in-state.ts';

/**
 * At the end of a sign-in that proved an account's password (or passkey) after "Continue with
 * GitHub" or "Continue with NAME" found its address taken: the identity waiting on the sign-in is
 * linked to that account and, as after any new way in, the account's other sessions end, in one
 * transaction. False, with the failure page shown, when the identity or the account's slot for it
 * was taken meanwhile; true when linked, or when nothing was waiting.
 */
export async function linkAtSignIn(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  { userId, link, upstreamLink }: FirstStep,
): Promise<boolean> {
  if (link) {
    const linked = await linkIdentity(ctx, deps, interaction, userId, {
      change: 'github_linked',
      events: 'github',
      details: { github_id: link.id },
      make: (trx) => linkGitHub(trx, userId, link),
    });
    if (!linked) {
      showGitHubFailure(ctx, deps.page, 'already_linked', backToLogin(interaction.uid));
      return false;
    }
  }
  if (upstreamLink) {
    const linked = await linkIdentity(ctx, deps, interaction, userId, {
      change: 'upstream_linked',
      events: 'upstream',
      details: { connection_id: upstreamLink.connectionId },
      make: (trx) => linkUpstream(trx, userId, upstreamLink),
    });
    if (!linked) {
      const name = (await deps.upstreams.open(upstreamLink.connectionId))?.connection.name ?? 'the sign-in service';
      showUpstreamFailure(ctx, deps.page, 'already_linked', name, backToLogin(interaction.uid));
      return false;
    }
  }
  return true;
}

interface Linking {
  change: SignInChange;
  /** Which audit events tell of it: `github.linked`/`github.failed` or `upstream.linked`/`upstream.failed`. */
  events: 'github' | 'upstream';
  details: Record<string, unknown>;
  make: (trx: Db) => Promise<boolean>;
}

async function linkIdentity(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  userId: string,
  { change, events, details, make }: Linking,
): Promise<boolean> {
  const audited = { userId, clientId: String(interaction.params.client_id), ...seenIn(ctx) };
  const linked = await changeEndingOtherSessions(deps, {
    userId,
    keepSessionUid: interaction.session?.uid,
    change,
    seen: seenIn(ctx),
    make,
    audited: { type: `${events}.linked`, ...audited, details: { ...details, during: 'login' } },
  });
  if (linked) return true;
  await deps.audit({ type: `${events}.failed`, ...audited, details: { ...details, reason: 'already_linked' } });
  return false;
}
