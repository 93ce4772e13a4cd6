import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { Context } from 'koa';
import { showConsent, submitConsent } from './consent.ts';
import { finishInteraction, type InteractionDeps, loadInteraction } from './interaction.ts';
import { showLogin, submitLogin } from './login.ts';

/**
 * The interaction pages oidc-provider sends the browser to, one step per prompt. GET shows the
 * step the provider asks for; each POST serves exactly one prompt and finishes it.
 */
export function interactionRouter(deps: InteractionDeps): Router {
  const form = bodyParser({ enableTypes: ['form'], formLimit: '16kb' });
  const router = new Router({ prefix: '/interaction/:uid' });
  const step = (handler: (ctx: Context, deps: InteractionDeps) => Promise<void>) => (ctx: Context) =>
    handler(ctx, deps);

  router.get('/', step(show));
  router.post('/login', form, step(submitLogin));
  router.post('/consent', form, step(submitConsent));
  router.get('/abort', step(abort));
  return router;
}

async function show(ctx: Context, deps: InteractionDeps) {
  const interaction = await loadInteraction(ctx, deps);
  switch (interaction.prompt.name) {
    case 'login':
      return showLogin(ctx, deps, interaction);
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
