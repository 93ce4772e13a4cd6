import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import type { Page } from '../http/pages.ts';
import type { RateLimiter } from '../rate-limit/rate-limits.ts';
import { PREFILLED_USER_CODE } from './device-pages.ts';

/**
 * In front of oidc-provider's /device (`atRoutes` it to `code_verification`, so that /DEVICE or
 * /device/, which the library serves the same, are guarded too). Rules:
 * - every code posted there from a session spends an attempt of the address's `device_code_ip`
 *   limit before it is looked at, so user codes (8 characters of 20) cannot be guessed at speed,
 *   however many posts arrive at once; over the limit: 429 with Retry-After;
 * - a code in the link (`verification_uri_complete`) is taken off the query and shown filled in
 *   on the input page, where the library would have posted it on the person's behalf by script;
 *   taken off however it is given (`?user_code=A&user_code=B` too), so that page never shows;
 * - a post with no session of its own (no form was shown, or the session ended) gets a 400 page
 *   saying the form expired, and spends nothing (so a page elsewhere posting here from a visitor's
 *   browser cannot use up their address's attempts): it has no form token to check, and the
 *   library's error page would save a session it never stored and fail with a 500.
 */
export function deviceGuard(provider: Provider, rateLimiter: RateLimiter, page: Page) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.method !== 'POST' && ctx.query.user_code !== undefined) {
      const [given] = [ctx.query.user_code].flat();
      if (given) (ctx.state as Record<symbol, string>)[PREFILLED_USER_CODE] = given.slice(0, 64);
      ctx.querystring = '';
    }
    if (ctx.method === 'POST') {
      const session = await provider.Session.get(ctx);
      if ((session as { new?: boolean }).new) {
        return page(
          ctx,
          'message',
          {
            title: 'This form has expired',
            heading: 'This form has expired',
            message: 'Go back to the device page, reload it and enter the code again.',
          },
          400,
        );
      }
      const spent = await rateLimiter.attempt('device_code_ip', ctx.ip);
      if (!spent.allowed) {
        ctx.set('Retry-After', String(spent.retryAfterSeconds));
        return page(
          ctx,
          'message',
          {
            title: 'Too many attempts',
            heading: 'Too many attempts',
            message: `Too many codes were tried from your network. Try again in ${Math.ceil(spent.retryAfterSeconds / 60)} minutes.`,
          },
          429,
        );
      }
    }
    return next();
  };
}
