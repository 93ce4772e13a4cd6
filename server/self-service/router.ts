import Router from '@koa/router';
import type { Context } from 'koa';
import { formBody } from '../http/forms.ts';
import type { SelfServiceDeps } from './deps.ts';
import { showForgotPassword, showResetPassword, submitForgotPassword, submitResetPassword } from './password-reset.ts';
import { showVerifyEmail } from './verify-email.ts';

/** Pages a person reaches from a mail or a link, outside any sign-in. */
export function selfServiceRouter(deps: SelfServiceDeps, secure: boolean): Router {
  const form = formBody(secure);
  const router = new Router();
  const page = (handler: (ctx: Context, deps: SelfServiceDeps) => unknown) => async (ctx: Context) => {
    await handler(ctx, deps);
  };

  router.get('/verify-email', page(showVerifyEmail));
  router.get('/forgot-password', form.token, page(showForgotPassword));
  router.post('/forgot-password', ...form.post, page(submitForgotPassword));
  router.get('/reset-password', form.token, page(showResetPassword));
  router.post('/reset-password', ...form.post, page(submitResetPassword));
  return router;
}
