import type { Context } from 'koa';
import type { Page } from '../http/pages.ts';
import type { Enrolment } from './factors.ts';

/**
 * The two MFA pages shown both during sign-in and on /account; only where the form posts and
 * what follows the codes differ. `signInUid`: the sign-in a setup is part of, which it offers to
 * cancel.
 */
export function showTotpSetup(
  ctx: Context,
  page: Page,
  enrolment: Enrolment,
  where: { action: string; lead: string; back?: string; signInUid?: string },
  status = 200,
  error?: string,
) {
  page(
    ctx,
    'totp-setup',
    {
      title: 'Set up two-step verification',
      ...where,
      secret: enrolment.secret,
      uri: enrolment.uri,
      qr: `data:image/svg+xml;base64,${Buffer.from(enrolment.qrSvg).toString('base64')}`,
      error,
    },
    status,
  );
}

/** Shown once; `continueAction` posts on with a sign-in, otherwise the page links back to /account. */
export function showRecoveryCodes(ctx: Context, page: Page, codes: string[], continueAction?: string) {
  page(ctx, 'recovery-codes', { title: 'Your recovery codes', codes, continueAction });
}
