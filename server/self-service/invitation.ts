import type { Context } from 'koa';
import { acceptInvitation, invitedUser } from '../accounts/invitations.ts';
import { seenIn } from '../audit/audit.ts';
import { formField } from '../interaction/interaction.ts';
import type { SelfServiceDeps } from './deps.ts';

/**
 * /invitation: the page an invited person reaches from their mail (see accounts/invitations.ts).
 * It asks for a first password; a used, expired or unknown link gets the same clear page.
 */
function usedLink(ctx: Context, deps: SelfServiceDeps) {
  deps.page(
    ctx,
    'message',
    {
      title: 'Link expired',
      heading: 'This invitation has expired or was already used',
      message: 'Ask the administrator who invited you for a new invitation, or reset your password if you set one.',
      link: { href: '/forgot-password', text: 'Reset your password' },
    },
    400,
  );
}

export async function showInvitation(ctx: Context, deps: SelfServiceDeps) {
  const token = typeof ctx.query.token === 'string' ? ctx.query.token : '';
  const user = await invitedUser(deps.db, token);
  if (!user) return usedLink(ctx, deps);
  deps.page(ctx, 'invitation', { title: 'Choose your password', token, email: user.email });
}

export async function submitInvitation(ctx: Context, deps: SelfServiceDeps) {
  const token = formField(ctx, 'token');
  const accepted = await acceptInvitation(deps.db, token, formField(ctx, 'password'));
  if (!accepted.ok && accepted.problem) {
    const user = await invitedUser(deps.db, token);
    return deps.page(
      ctx,
      'invitation',
      { title: 'Choose your password', token, email: user?.email ?? '', error: accepted.problem },
      400,
    );
  }
  if (!accepted.ok) return usedLink(ctx, deps);
  await deps.audit({ type: 'invitation.accepted', userId: accepted.userId, ...seenIn(ctx) });
  deps.page(ctx, 'message', {
    title: 'Password set',
    heading: 'Your account is ready',
    message: 'Your password is set. Sign in with your email and this password from the application you use.',
    link: { href: '/account', text: 'Your account' },
  });
}
