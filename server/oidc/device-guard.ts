import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Page } from '../http/pages.ts';
import type { RateLimiter } from '../rate-limit/rate-limits.ts';
import { PREFILLED_USER_CODE } from './device-pages.ts';

/**
 * In front of oidc-provider's /device (`atRoutes` it to `code_verification`, so that /DEVICE or
 * /device/, which the library serves the same, are guarded too). Rules:
 * - every code posted there spends an attempt of the address's `device_code_ip` limit first, so
 *   user codes (8 characters of 20) cannot be guessed at speed, however many posts arrive at once;
 *   over the limit: 429 with Retry-After, and the code is not looked at;
 * - a code in the link (`verification_uri_complete`) is taken off the query and shown filled in
 *   on the input page, where the library would have posted it on the person's behalf by script.
 */
export function deviceGuard(rateLimiter: RateLimiter, page: Page) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.method === 'GET' && typeof ctx.query.user_code === 'string') {
      (ctx.state as Record<symbol, string>)[PREFILLED_USER_CODE] = ctx.query.user_code.slice(0, 64);
      ctx.querystring = '';
    }
    if (ctx.method === 'POST') {
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
