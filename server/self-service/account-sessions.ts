import { revokeEverythingOf, revokeGrantsOf, revokeSessionOf } from '../../adapters/account-artifacts.ts';
import { seenIn } from '../audit/audit.ts';
import { done, requireSignIn } from './account.ts';

/**
 * Sessions and app access on /account: end one session (and the grants made in it), revoke one
 * app's grant, or sign out everywhere: every session and grant of the account, this browser's
 * too, after which the page says the person is signed out.
 */

export const revokeSession = requireSignIn(async (ctx, deps, who) => {
  const key = String(ctx.params.id);
  if (await revokeSessionOf(deps.db, who.user.id, key)) {
    await deps.audit({
      type: 'session.revoked',
      userId: who.user.id,
      ...seenIn(ctx),
      details: { current: key === who.sessionKey },
    });
  }
  done(ctx, 'session');
});

export const revokeGrant = requireSignIn(async (ctx, deps, who) => {
  const key = String(ctx.params.id);
  if (await revokeGrantsOf(deps.db, who.user.id, [key])) {
    await deps.audit({ type: 'grant.revoked', userId: who.user.id, ...seenIn(ctx) });
  }
  done(ctx, 'grant');
});

export const signOutEverywhere = requireSignIn(async (ctx, deps, who) => {
  const revoked = await revokeEverythingOf(deps.db, who.user.id);
  await deps.audit({ type: 'sessions.all_ended', userId: who.user.id, ...seenIn(ctx), details: { revoked } });
  deps.page(ctx, 'message', {
    title: 'Signed out',
    heading: 'You are signed out everywhere',
    message:
      'Every session of your account has ended, this one too, and no app can use the access it had. Sign in again where you need to.',
    link: { href: '/account', text: 'Your account' },
  });
});
