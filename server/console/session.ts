import type { Context, Next } from 'koa';
import { findUserWithRoles, type UserWithRoles } from '../../db/repositories/users.ts';
import { ADMIN_ROLE } from '../admin-api/auth.ts';
import { ACR_MFA } from '../oidc/acr.ts';
import { CONSOLE_CALLBACK_PATH, CONSOLE_CLIENT_ID } from '../oidc/console-client.ts';
import { browserSession, startFirstPartySignIn } from '../oidc/first-party-sign-in.ts';
import type { ConsoleDeps } from './deps.ts';

/**
 * Who may use /admin, asked again on every request (so losing the role, being disabled or signing
 * out ends the console at the next click): the browser's oidc-provider session belongs to an
 * enabled user who holds the `admin` role now and whose sign-in used a second factor. No session:
 * sign in through the built-in console client. A session without a second factor: the same
 * sign-in with `acr_values` asking for one (step-up, with enrolment for an admin who has none).
 * Anyone else: 403 with a page that says why.
 */
export interface Admin {
  user: UserWithRoles;
  /** How audit rows name the acting admin. */
  actor: string;
}

type Standing = { admin: Admin } | { refuse: 'signed_out' | 'second_factor' | 'not_admin'; user?: UserWithRoles };

async function standingOf(ctx: Context, deps: ConsoleDeps): Promise<Standing> {
  const session = (await browserSession(ctx, deps.provider()))?.session;
  const user = session?.accountId ? await findUserWithRoles(deps.db, session.accountId) : undefined;
  if (!session || !user) return { refuse: 'signed_out' };
  if (user.disabled_at || !user.roles.includes(ADMIN_ROLE)) return { refuse: 'not_admin', user };
  // Multi-factor by any means Tessera counts: a code, a passkey, or an upstream trusted for it.
  if (session.acr !== ACR_MFA) return { refuse: 'second_factor', user };
  return { admin: { user, actor: `user:${user.id}` } };
}

/** Before every console page: puts the admin in `ctx.state.admin`, or answers for them. */
export function requireAdmin(deps: ConsoleDeps) {
  return async (ctx: Context, next: Next) => {
    const standing = await standingOf(ctx, deps);
    if ('admin' in standing) {
      ctx.state.admin = standing.admin;
      return next();
    }
    if (standing.refuse === 'not_admin') {
      return deps.page(
        ctx,
        'message',
        {
          title: 'Not allowed',
          heading: 'The admin console is for administrators',
          message: `You are signed in as ${standing.user?.email}, which does not have the admin role. Ask an administrator if you need it.`,
          link: { href: '/account', text: 'Your account' },
        },
        403,
      );
    }
    if (ctx.method !== 'GET') {
      return deps.page(
        ctx,
        'message',
        {
          title: 'Sign in',
          heading: 'Sign in to the admin console again',
          message: 'Your console session has ended; nothing was changed.',
          link: { href: '/admin/sign-in', text: 'Sign in' },
        },
        401,
      );
    }
    ctx.status = 303;
    ctx.redirect(standing.refuse === 'second_factor' ? '/admin/sign-in?mfa' : '/admin/sign-in');
  };
}

/** The admin from `requireAdmin`. */
export const adminOf = (ctx: Context): Admin => ctx.state.admin as Admin;

/** Starts a sign-in through the console client; the session is what counts, not the code. */
export function startConsoleSignIn(ctx: Context, deps: ConsoleDeps) {
  startFirstPartySignIn(
    ctx,
    deps.issuer,
    { id: CONSOLE_CLIENT_ID, callbackPath: CONSOLE_CALLBACK_PATH },
    // Asked for only once the person is known to be an admin: others are refused, not enrolled.
    ctx.query.mfa !== undefined ? { acr_values: ACR_MFA } : {},
  );
}

export function finishConsoleSignIn(ctx: Context) {
  ctx.status = 303;
  ctx.redirect('/admin');
}
