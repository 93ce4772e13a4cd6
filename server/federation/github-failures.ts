import type { Context } from 'koa';
import type { Page } from '../http/pages.ts';
import type { GitHubFailure } from './github.ts';

/** Every way "Continue with GitHub" can end without a sign-in, in the words a person reads. */
export type GitHubRefusal = GitHubFailure | 'account_disabled' | 'already_linked' | 'linked_elsewhere';

const UNAVAILABLE = 'GitHub is not answering right now. Try again in a moment, or sign in with your password.';

export const GITHUB_REFUSALS: Record<GitHubRefusal, { status: number; heading: string; message: string }> = {
  access_denied: {
    status: 403,
    heading: 'GitHub sign-in cancelled',
    message: 'You cancelled at GitHub, so nothing was shared. You can sign in another way.',
  },
  authorization_error: {
    status: 400,
    heading: 'GitHub sign-in failed',
    message: 'GitHub did not let this sign-in go ahead. Try again, or sign in another way.',
  },
  state_mismatch: {
    status: 400,
    heading: 'This GitHub sign-in is not valid',
    message:
      'The answer from GitHub does not belong to a sign-in started in this browser, or was already used. Start again.',
  },
  code_rejected: {
    status: 502,
    heading: 'GitHub sign-in failed',
    message: 'GitHub did not accept this sign-in. Start again.',
  },
  unavailable: { status: 502, heading: 'GitHub is not answering', message: UNAVAILABLE },
  timeout: { status: 504, heading: 'GitHub is not answering', message: UNAVAILABLE },
  no_verified_email: {
    status: 403,
    heading: 'Your GitHub account has no verified email',
    message:
      'Verify an email address at GitHub (Settings → Emails), then try again, or create an account with your email.',
  },
  account_disabled: {
    status: 403,
    heading: 'This account has been disabled',
    message: 'The account linked to this GitHub account has been disabled.',
  },
  already_linked: {
    status: 409,
    heading: 'GitHub account already linked',
    message: 'That GitHub account is already linked to another account here, or this account already has one.',
  },
  linked_elsewhere: {
    status: 409,
    heading: 'A different GitHub account is linked',
    message: 'The account with this email address is linked to a different GitHub account. Sign in with your password.',
  },
};

/** The page a failed GitHub sign-in ends on, with the way back to where the person came from. */
export function showGitHubFailure(
  ctx: Context,
  page: Page,
  reason: GitHubRefusal,
  back: { href: string; text: string },
) {
  const { status, heading, message } = GITHUB_REFUSALS[reason];
  page(ctx, 'message', { title: heading, heading, message, link: back }, status);
}
