import type { Context } from 'koa';
import { verifyEmail } from '../accounts/verification.ts';
import { seenIn } from '../audit/audit.ts';
import { INTERACTION_UID } from '../interaction/uid.ts';
import type { SelfServiceDeps } from './deps.ts';

/** GET /verify-email?token=…[&interaction=…]: spends the link and, when it can, continues the sign-in. */

export async function showVerifyEmail(ctx: Context, deps: SelfServiceDeps) {
  const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
  const verified = token && (await verifyEmail(deps.db, deps.audit, token, seenIn(ctx)));
  if (!verified) {
    return deps.page(
      ctx,
      'message',
      {
        title: 'Link expired',
        heading: 'This link has expired or was already used',
        message: 'Sign in to the application you came from, and we will send you a new link.',
      },
      400,
    );
  }
  const uid =
    typeof ctx.query.interaction === 'string' && INTERACTION_UID.test(ctx.query.interaction)
      ? ctx.query.interaction
      : '';
  deps.page(ctx, 'message', {
    title: 'Email verified',
    heading: 'Your email address is verified',
    message: uid ? 'You can now sign in.' : 'You can now sign in to the application you came from.',
    link: uid ? { href: `/interaction/${uid}/login`, text: 'Continue signing in' } : undefined,
  });
}
