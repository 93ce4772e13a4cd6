import { timingSafeEqual } from 'node:crypto';
import type { Context, Middleware } from 'koa';
import { randomToken } from '../secrets.ts';

/**
 * CSRF protection for every form Tessera owns (double submit): a random token in a signed,
 * HttpOnly, SameSite=Lax cookie, repeated in each form's hidden `csrf` field. A post whose field
 * does not match its cookie is refused before any handler runs. oidc-provider's own logout form
 * carries its own `xsrf` and is not ours to check.
 */
const COOKIE = 'tessera.csrf';

export class CsrfError extends Error {
  override name = 'CsrfError';
}

/** Gives the request a token (reusing the browser's), for pages to put in their forms. */
export function csrfToken(secure: boolean): Middleware {
  return async (ctx, next) => {
    let token = ctx.cookies.get(COOKIE, { signed: true });
    if (!token || token.length < 32) {
      token = randomToken(32);
      ctx.cookies.set(COOKIE, token, { signed: true, httpOnly: true, sameSite: 'lax', secure, overwrite: true });
    }
    ctx.state.csrf = token;
    await next();
  };
}

/** After the body parser on a form route: the posted `csrf` must equal the cookie's. */
export async function verifyCsrf(ctx: Context, next: () => Promise<void>) {
  const posted = (ctx.request.body as Record<string, unknown> | undefined)?.csrf;
  const expected = ctx.cookies.get(COOKIE, { signed: true });
  if (typeof posted !== 'string' || !expected || !sameString(posted, expected)) {
    throw new CsrfError('form token missing or wrong');
  }
  await next();
}

function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
