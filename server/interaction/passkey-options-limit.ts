import type { Context } from 'koa';
import { type Audit, seenIn } from '../audit/audit.ts';
import type { RateLimiter } from '../rate-limit/rate-limits.ts';
import { tooManyAttempts } from './interaction.ts';

/**
 * Every request for passkey options stores a challenge, so each sign-in or session (the challenge's
 * binding) may ask for `passkey_challenge`'s points of them per window: a person needs one or two
 * (the username field's autofill, then the button), a script asking in a loop meets a 429 with
 * Retry-After instead of filling the table. Answers true when the options may be made; otherwise
 * the 429 is set, as JSON the page script shows.
 */
export async function passkeyOptionsAllowed(
  ctx: Context,
  deps: { rateLimiter: RateLimiter; audit: Audit },
  boundTo: string,
): Promise<boolean> {
  const { allowed, retryAfterSeconds } = await deps.rateLimiter.attempt('passkey_challenge', boundTo);
  if (allowed) return true;
  await deps.audit({ type: 'rate_limit.hit', ...seenIn(ctx), details: { limit: 'passkey_challenge' } });
  ctx.status = 429;
  ctx.body = { error: 'rate_limited', error_description: tooManyAttempts(ctx, retryAfterSeconds) };
  return false;
}
