import type { Context } from 'koa';
import { seenIn } from '../audit/audit.ts';
import { UpstreamError, type UpstreamIdentity } from '../federation/upstream.ts';
import { accountForUpstream, displayNameOf } from '../federation/upstream-accounts.ts';
import { upstreamRefusal } from '../federation/upstream-failures.ts';
import { finishUpstream } from '../federation/upstream-flow.ts';
import { upstreamCheckedMfa } from '../federation/upstream-mfa.ts';
import { nowInSeconds } from '../mfa/fresh-proof.ts';
import { goUpstream, refuseUpstream } from './connection-start.ts';
import { type InteractionDeps, loadInteraction, rememberOnInteraction, SIGN_IN_PROMPTS } from './interaction.ts';
import { showLogin } from './login-page.ts';
import { continueSignIn } from './sign-in.ts';
import type { SignInState } from './sign-in-state.ts';

/**
 * First factor: "Continue with NAME" for an upstream connection (OpenID Connect, or a GitHub an
 * operator connected), as a step of the login (or sign-up) interaction: out to the upstream and
 * back to this same interaction, then on like a password login (MFA, consent) with `fed` in amr,
 * the upstream's amr/acr recorded in the audit. The identity is (connection, subject); an address
 * that already has an account is only linked with that account's password (upstream-accounts.ts).
 * A connection trusted for it lets the upstream's second factor stand for Tessera's.
 */

export async function startConnectionStep(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  await goUpstream(ctx, deps, interaction, String(ctx.params.id));
}

export async function connectionCallbackStep(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps, SIGN_IN_PROMPTS);
  const id = String(ctx.params.id);
  const opened = await deps.upstreams.open(id);
  if (!opened) return refuseUpstream(ctx, deps, interaction, 'unknown_connection', undefined);
  const { connection, upstream } = opened;
  let identity: UpstreamIdentity;
  try {
    identity = await finishUpstream(ctx, deps, id, upstream, interaction.uid);
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    deps.logger.warn({ connection: id, reason: err.reason, err: err.message }, 'upstream sign-in failed');
    return refuseUpstream(ctx, deps, interaction, err.reason, connection);
  }
  const seen = { clientId: String(interaction.params.client_id), ...seenIn(ctx) };
  const upstreamSaid = { connection_id: id, upstream_amr: identity.amr, upstream_acr: identity.acr ?? null };
  const account = await accountForUpstream(deps.db, id, identity);
  if (account.kind === 'no_verified_email')
    return refuseUpstream(ctx, deps, interaction, 'no_verified_email', connection);
  if (account.kind === 'email_taken') {
    const { user, linkedElsewhere } = account;
    if (linkedElsewhere) {
      await deps.audit({
        type: 'upstream.failed',
        userId: user.id,
        ...seen,
        details: { ...upstreamSaid, reason: 'linked_elsewhere' },
      });
      return showLogin(ctx, deps, interaction, 409, {
        error: upstreamRefusal('linked_elsewhere', connection.name).message,
      });
    }
    const connectionLink: SignInState['connectionLink'] = {
      connectionId: id,
      connectionName: connection.name,
      subject: identity.subject,
      displayName: displayNameOf(identity),
      userId: user.id,
      email: user.email,
    };
    await rememberOnInteraction(ctx, deps, { connectionLink });
    await deps.audit({ type: 'upstream.link_offered', userId: user.id, ...seen, details: upstreamSaid });
    // To the login page by redirect, so a reload there does not replay the upstream's answer.
    ctx.status = 303;
    return ctx.redirect(`/interaction/${interaction.uid}/login`);
  }
  const { user } = account;
  if (user.disabled_at) return refuseUpstream(ctx, deps, interaction, 'account_disabled', connection, user.id);
  if (account.kind === 'created') {
    if (account.replaced) {
      await deps.audit({
        type: 'signup.unverified_replaced',
        userId: account.replaced,
        ...seen,
        details: { by: user.id },
      });
    }
    await deps.audit({ type: 'signup', userId: user.id, ...seen, details: { via: 'connection', connection_id: id } });
  }
  const upstreamMfa = connection.trust_upstream_mfa && upstreamCheckedMfa(identity);
  await deps.audit({
    type: 'upstream.authenticated',
    userId: user.id,
    ...seen,
    details: { ...upstreamSaid, trusted_mfa: upstreamMfa },
  });
  await continueSignIn(ctx, deps, interaction, user, {
    methods: ['fed'],
    provedAt: nowInSeconds(),
    ...(upstreamMfa ? { upstreamMfa } : {}),
  });
}
