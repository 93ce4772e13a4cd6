import type { Context } from 'koa';
import type { Page } from '../http/pages.ts';
import type { UpstreamFailure } from './upstream.ts';

/** Every way "Continue with NAME" can end without a sign-in, in the words a person reads. */
export type UpstreamRefusal =
  | UpstreamFailure
  | 'unknown_connection'
  | 'account_disabled'
  | 'already_linked'
  | 'linked_elsewhere';

/** How long a person is asked to wait before trying an upstream that is not answering again. */
export const UPSTREAM_RETRY_AFTER_SECONDS = 30;

type Words = { status: number; heading: string; message: string };

const notAnswering = (name: string): Words => ({
  status: 503,
  heading: `${name} is not answering`,
  message: `${name} is not answering right now. Try again in a moment, or sign in another way.`,
});

export function upstreamRefusal(reason: UpstreamRefusal, name: string): Words {
  switch (reason) {
    case 'access_denied':
      return {
        status: 403,
        heading: `${name} sign-in cancelled`,
        message: `You cancelled at ${name}, so nothing was shared. You can sign in another way.`,
      };
    case 'authorization_error':
    case 'code_rejected':
      return {
        status: 400,
        heading: `${name} sign-in failed`,
        message: `${name} did not let this sign-in go ahead. Try again, or sign in another way.`,
      };
    case 'state_mismatch':
      return {
        status: 400,
        heading: `This ${name} sign-in is not valid`,
        message: `The answer from ${name} does not belong to a sign-in started in this browser, or was already used. Start again.`,
      };
    case 'id_token_invalid':
      return {
        status: 502,
        heading: `${name} sign-in could not be verified`,
        message: `The answer from ${name} did not pass its checks, so it was not trusted. Start again, or sign in another way.`,
      };
    case 'unavailable':
    case 'timeout':
      return notAnswering(name);
    case 'no_verified_email':
      return {
        status: 403,
        heading: `${name} gave no verified email`,
        message: `Your ${name} account has no verified email address to make an account with. Verify one there, or sign in another way.`,
      };
    case 'unknown_connection':
      return {
        status: 404,
        heading: 'This sign-in option is not available',
        message: 'This way of signing in is not offered any more. Sign in another way.',
      };
    case 'account_disabled':
      return {
        status: 403,
        heading: 'This account has been disabled',
        message: `The account linked to this ${name} account has been disabled.`,
      };
    case 'already_linked':
      return {
        status: 409,
        heading: `${name} account already linked`,
        message: `That ${name} account is already linked to another account here, or this account already has one.`,
      };
    case 'linked_elsewhere':
      return {
        status: 409,
        heading: `A different ${name} account is linked`,
        message: `The account with this email address is linked to a different ${name} account. Sign in with your password.`,
      };
  }
}

/** The page a failed upstream sign-in ends on; 503 with Retry-After while the upstream is down. */
export function showUpstreamFailure(
  ctx: Context,
  page: Page,
  reason: UpstreamRefusal,
  name: string,
  back: { href: string; text: string },
) {
  const { status, heading, message } = upstreamRefusal(reason, name);
  if (status === 503) ctx.set('Retry-After', String(UPSTREAM_RETRY_AFTER_SECONDS));
  page(ctx, 'message', { title: heading, heading, message, link: back }, status);
}
