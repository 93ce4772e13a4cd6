import type { Context } from 'koa';
import type { SelfServiceDeps } from './deps.ts';

/** A mailed link that has expired or was already used: 400, and what to do instead. */
export function expiredLink(
  ctx: Context,
  deps: SelfServiceDeps,
  instead: { message: string; link?: { href: string; text: string } },
) {
  deps.page(
    ctx,
    'message',
    { title: 'Link expired', heading: 'This link has expired or was already used', ...instead },
    400,
  );
}
