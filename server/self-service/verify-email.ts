import type { Context } from 'koa';
import { checkEmailToken } from '../accounts/email-tokens.ts';
import { verifyEmail } from '../accounts/verification.ts';
import { seenIn } from '../audit/audit.ts';
import { formField } from '../interaction/interaction.ts';
import { INTERACTION_UID } from '../interaction/uid.ts';
import type { SelfServiceDeps } from './deps.ts';
import { expiredLink } from './expired-link.ts';

/**
 * The mailed verification link, in two steps: GET /verify-email?token=…[&interaction=…] only
 * shows a button, and its POST spends the link and, when it can, continues the sign-in. Mail
 * scanners and link previews fetch every link in a message; had the GET spent it, the person
 * clicking next would be told it expired, and a scanner would pass for them.
 */
export async function showVerifyEmail(ctx: Context, deps: SelfServiceDeps) {
  const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
  if (!token || !(await checkEmailToken(deps.db, token, 'verify_email'))) return expired(ctx, deps);
  const interaction = typeof ctx.query.interaction === 'string' ? ctx.query.interaction : '';
  deps.page(ctx, 'verify-email', {
    title: 'Verify your email address',
    token,
    interaction: INTERACTION_UID.test(interaction) ? interaction : '',
  });
}

export async function submitVerifyEmail(ctx: Context, deps: SelfServiceDeps) {
  const token = formField(ctx, 'token');
  if (!token || !(await verifyEmail(deps.db, deps.audit, token, seenIn(ctx)))) return expired(ctx, deps);
  const interaction = formField(ctx, 'interaction');
  const uid = INTERACTION_UID.test(interaction) ? interaction : '';
  deps.page(ctx, 'message', {
    title: 'Email verified',
    heading: 'Your email address is verified',
    message: uid ? 'You can now sign in.' : 'You can now sign in to the application you came from.',
    link: uid ? { href: `/interaction/${uid}/login`, text: 'Continue signing in' } : undefined,
  });
}

const expired = (ctx: Context, deps: SelfServiceDeps) =>
  expiredLink(ctx, deps, { message: 'Sign in to the application you came from, and we will send you a new link.' });
