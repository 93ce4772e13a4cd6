import type { ErrorOut, KoaContextWithOIDC } from 'oidc-provider';
import type { Page } from '../http/pages.ts';

/**
 * The device flow's pages at /device (RFC 8628 §3.3), in Tessera's look. oidc-provider runs the
 * flow and protects each form with its own `xsrf` token (kept in the session); these only draw.
 * A code from `verification_uri_complete` is shown filled in, never sent on its own: the person
 * presses Continue, then sees which app asks, then signs in and consents as usual.
 */

/** A code from the link's query, which the /device middleware keeps here for the input page. */
export const PREFILLED_USER_CODE = Symbol('prefilled user code');

const MESSAGES: Record<string, string> = {
  NoCodeError: 'Enter the code your device shows.',
  NotFoundError: 'That code is not valid. Check it and try again.',
  ExpiredError: 'That code has expired. Start again on your device.',
  AlreadyUsedError: 'That code has already been used. Start again on your device.',
  AbortedError: 'You cancelled. The device was not connected.',
};

const xsrfOf = (ctx: KoaContextWithOIDC) => String((ctx.oidc.session?.state as { secret?: string })?.secret ?? '');

export function devicePages(page: Page) {
  return {
    input(ctx: KoaContextWithOIDC, out?: ErrorOut, err?: Error) {
      const prefilled = (ctx.state as Record<symbol, string | undefined>)[PREFILLED_USER_CODE];
      const userCode = (err as { userCode?: string } | undefined)?.userCode ?? prefilled;
      const error = err ? (MESSAGES[err.name] ?? out?.error_description ?? out?.error) : undefined;
      page(ctx, 'device', { title: 'Connect a device', xsrf: xsrfOf(ctx), userCode, error }, err ? ctx.status : 200);
    },
    confirm(ctx: KoaContextWithOIDC, clientName: string | undefined, userCode: string) {
      page(ctx, 'device-confirm', {
        title: 'Connect a device',
        xsrf: xsrfOf(ctx),
        clientName: clientName ?? 'this device',
        userCode,
      });
    },
    success(ctx: KoaContextWithOIDC) {
      page(ctx, 'message', {
        title: 'Device connected',
        heading: 'Your device is connected',
        message: 'You can return to your device now; it continues on its own.',
      });
    },
  };
}
