import Router from '@koa/router';
import type { Context } from 'koa';
import { formBody } from '../http/forms.ts';
import { rejectNulInUrl } from '../http/nul-bytes.ts';
import {
  type AccountDeps,
  changePassword,
  deleteAccount,
  finishAccountSignIn,
  saveProfile,
  showAccount,
  startAccountSignIn,
} from './account.ts';
import { finishGitHubLink, startGitHubLink, unlinkGitHub } from './account-github.ts';
import { confirmMfa, disableMfa, newRecoveryCodes, showMfaSetup, startMfa } from './account-mfa.ts';
import { addPasskey, passkeyRegistrationOptions, removePasskey } from './account-passkeys.ts';
import { revokeGrant, revokeSession, signOutEverywhere } from './account-sessions.ts';
import { showInvitation, submitInvitation } from './invitation.ts';
import { showForgotPassword, showResetPassword, submitForgotPassword, submitResetPassword } from './password-reset.ts';
import { showVerifyEmail, submitVerifyEmail } from './verify-email.ts';

/** Pages a person reaches from a mail, a link or their account, outside any app's sign-in. */
export function selfServiceRouter(deps: AccountDeps, secure: boolean): Router {
  const form = formBody(secure);
  const router = new Router();
  router.use(rejectNulInUrl);
  const page = (handler: (ctx: Context, deps: AccountDeps) => unknown) => async (ctx: Context) => {
    await handler(ctx, deps);
  };

  router.get('/verify-email', form.token, page(showVerifyEmail));
  router.post('/verify-email', ...form.post, page(submitVerifyEmail));
  router.get('/forgot-password', form.token, page(showForgotPassword));
  router.post('/forgot-password', ...form.post, page(submitForgotPassword));
  router.get('/reset-password', form.token, page(showResetPassword));
  router.post('/reset-password', ...form.post, page(submitResetPassword));
  router.get('/invitation', form.token, page(showInvitation));
  router.post('/invitation', ...form.post, page(submitInvitation));

  router.get('/account', form.token, page(showAccount));
  router.get('/account/sign-in', page(startAccountSignIn));
  router.get('/account/callback', page(finishAccountSignIn));
  router.post('/account/profile', ...form.post, page(saveProfile));
  router.post('/account/password', ...form.post, page(changePassword));
  router.post('/account/mfa/start', ...form.post, page(startMfa));
  router.get('/account/mfa/setup', form.token, page(showMfaSetup));
  router.post('/account/mfa/confirm', ...form.post, page(confirmMfa));
  router.post('/account/mfa/recovery-codes', ...form.post, page(newRecoveryCodes));
  router.post('/account/mfa/disable', ...form.post, page(disableMfa));
  router.post('/account/passkeys/options', ...form.post, page(passkeyRegistrationOptions));
  router.post('/account/passkeys', ...form.post, page(addPasskey));
  router.post('/account/passkeys/:id/remove', ...form.post, page(removePasskey));
  router.post('/account/github/link', ...form.post, page(startGitHubLink));
  router.get('/account/github/callback', form.token, page(finishGitHubLink));
  router.post('/account/github/unlink', ...form.post, page(unlinkGitHub));
  router.post('/account/sessions/:id/revoke', ...form.post, page(revokeSession));
  router.post('/account/grants/:id/revoke', ...form.post, page(revokeGrant));
  router.post('/account/sign-out-everywhere', ...form.post, page(signOutEverywhere));
  router.post('/account/delete', ...form.post, page(deleteAccount));
  return router;
}
