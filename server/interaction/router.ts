import Router from '@koa/router';
import type { Context } from 'koa';
import { formBody } from '../http/forms.ts';
import { rejectNulInUrl } from '../http/nul-bytes.ts';
import { connectionCallbackStep, startConnectionStep } from './connection.ts';
import { showConsent, submitConsent } from './consent.ts';
import { continueAfterEnrolment, submitEnrolment } from './enrolment.ts';
import { gitHubCallbackStep, startGitHubStep } from './github.ts';
import { finishInteraction, type InteractionDeps, loadInteraction } from './interaction.ts';
import { showLogin, showLoginStep } from './login-page.ts';
import { showMfaStep } from './mfa-page.ts';
import { passkeySignInOptions, submitPasskeySignIn } from './passkey.ts';
import { passkeySecondFactorOptions, submitPasskeySecondFactor } from './passkey-second-factor.ts';
import { passkeySignupOptions, submitPasskeySignup } from './passkey-signup.ts';
import { resendVerification, submitLogin } from './password.ts';
import { submitCode } from './second-factor.ts';
import { PROVE_BEFORE_ENROLMENT, showStepUp } from './sign-in.ts';
import { showSignupStep, submitSignup } from './signup.ts';

/**
 * The interaction pages oidc-provider sends the browser to, one step per prompt. GET shows the
 * step the provider asks for; each POST serves its prompts only and finishes or re-shows them.
 * The order of the sign-in steps, and how to add one, is in sign-in.ts.
 */
export function interactionRouter(deps: InteractionDeps, secure: boolean): Router {
  const form = formBody(secure);
  const router = new Router({ prefix: '/interaction/:uid' });
  router.use(rejectNulInUrl);
  const step = (handler: (ctx: Context, deps: InteractionDeps) => Promise<void>) => (ctx: Context) =>
    handler(ctx, deps);

  router.get('/', form.token, step(show));
  router.get('/login', form.token, step(showLoginStep));
  router.get('/signup', form.token, step(showSignupStep));
  router.post('/signup', ...form.post, step(submitSignup));
  router.post('/signup/passkey/options', ...form.post, step(passkeySignupOptions));
  router.post('/signup/passkey', ...form.post, step(submitPasskeySignup));
  // First factors.
  router.post('/login', ...form.post, step(submitLogin));
  router.post('/resend-verification', ...form.post, step(resendVerification));
  router.post('/github', ...form.post, step(startGitHubStep));
  router.get('/github/callback', form.token, step(gitHubCallbackStep));
  router.post('/connections/:id', ...form.post, step(startConnectionStep));
  router.get('/connections/:id/callback', form.token, step(connectionCallbackStep));
  router.post('/passkey/options', ...form.post, step(passkeySignInOptions));
  router.post('/passkey', ...form.post, step(submitPasskeySignIn));
  // Second factors, and enrolment when one is demanded.
  router.get('/mfa', form.token, step(showMfaStep));
  router.post('/mfa', ...form.post, step(submitCode));
  router.post('/mfa/passkey/options', ...form.post, step(passkeySecondFactorOptions));
  router.post('/mfa/passkey', ...form.post, step(submitPasskeySecondFactor));
  router.post('/mfa/enrol', ...form.post, step(submitEnrolment));
  router.post('/mfa/continue', ...form.post, step(continueAfterEnrolment));
  router.post('/consent', ...form.post, step(submitConsent));
  // A post with the form's token: a cross-site link must not be able to cancel a sign-in.
  router.post('/abort', ...form.post, step(abort));
  return router;
}

async function show(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps);
  switch (interaction.prompt.name) {
    case 'create':
      return showSignupStep(ctx, deps, interaction);
    case 'login': {
      const stepUp = interaction.prompt.reasons.includes('mfa_required')
        ? await showStepUp(ctx, deps, interaction)
        : undefined;
      if (stepUp?.shown) return;
      const proveAgain = stepUp?.proveAgain;
      return showLogin(
        ctx,
        deps,
        interaction,
        200,
        proveAgain ? { info: PROVE_BEFORE_ENROLMENT, login: proveAgain } : {},
      );
    }
    case 'consent':
      return showConsent(ctx, deps, interaction);
    default:
      throw new Error(`no page for prompt ${interaction.prompt.name}`);
  }
}

async function abort(ctx: Context, deps: InteractionDeps) {
  await loadInteraction(ctx, deps);
  await finishInteraction(
    ctx,
    deps,
    { error: 'access_denied', error_description: 'The user cancelled the sign-in.' },
    false,
  );
}
