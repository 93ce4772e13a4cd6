import type { Context } from 'koa';
import type { ConnectionRow } from '../../db/schema.ts';
import { seenIn } from '../audit/audit.ts';
import { UpstreamError } from '../federation/upstream.ts';
import { showUpstreamFailure, type UpstreamRefusal } from '../federation/upstream-failures.ts';
import { startUpstream } from '../federation/upstream-flow.ts';
import { backToLogin, type Interaction, type InteractionDeps } from './interaction.ts';
import { signInStateOf } from './sign-in-state.ts';

/**
 * Sending the browser to an upstream connection, from its "Continue with NAME" button
 * (connection.ts) or from home-realm discovery: an address in a connection's domain, typed on
 * the login page (password.ts), goes straight to that connection. A connection that is unknown,
 * disabled or not answering ends on a page that says so, with the way back, never a 500.
 */

/**
 * Home-realm discovery: true, with the browser on its way, when `login` is an address in a
 * connection's domain. Not while the page asks for a password to link an identity with.
 */
export async function homeRealm(ctx: Context, deps: InteractionDeps, interaction: Interaction, login: string) {
  const linking = signInStateOf(interaction).connectionLink;
  const connection = login.includes('@') && !linking ? await deps.upstreams.forAddress(login) : undefined;
  if (!connection) return false;
  await goUpstream(ctx, deps, interaction, connection.id);
  return true;
}

export async function goUpstream(ctx: Context, deps: InteractionDeps, interaction: Interaction, id: string) {
  const opened = await deps.upstreams.open(id);
  if (!opened) return refuseUpstream(ctx, deps, interaction, 'unknown_connection', undefined);
  try {
    await startUpstream(ctx, deps, id, opened.upstream, interaction.uid);
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    deps.logger.warn({ connection: id, reason: err.reason, err: err.message }, 'upstream sign-in could not start');
    return refuseUpstream(ctx, deps, interaction, err.reason, opened.connection);
  }
}

/** The page a connection sign-in ends on when it cannot go on, audited. */
export async function refuseUpstream(
  ctx: Context,
  deps: InteractionDeps,
  interaction: Interaction,
  reason: UpstreamRefusal,
  connection: ConnectionRow | undefined,
  userId?: string,
) {
  await deps.audit({
    type: 'upstream.failed',
    ...(userId ? { userId } : {}),
    clientId: String(interaction.params.client_id),
    ...seenIn(ctx),
    details: { connection_id: connection?.id ?? String(ctx.params.id ?? '').slice(0, 64), reason },
  });
  showUpstreamFailure(ctx, deps.page, reason, connection?.name ?? 'the sign-in service', backToLogin(interaction.uid));
}
