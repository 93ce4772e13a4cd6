import type { Middleware } from 'koa';

/**
 * Headers every response carries; the pages add their own CSP (see pages.ts). Tessera never
 * terminates TLS itself, so an https issuer means a proxy in front does: the cookies it sets
 * (its own and oidc-provider's) are then Secure whatever protocol the last hop used.
 */
export function securityHeaders(https: boolean): Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    if (https) {
      ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
      ctx.cookies.secure = true;
    }
    await next();
  };
}
