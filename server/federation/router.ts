import Router from '@koa/router';
import type { Audit } from '../audit/audit.ts';
import { seenIn } from '../audit/audit.ts';
import type { Page } from '../http/pages.ts';
import { showGitHubFailure } from './github-failures.ts';
import { GITHUB_CALLBACK_PATH, relayTarget } from './github-flow.ts';

/**
 * The callback URL registered with the GitHub OAuth app. It only passes GitHub's answer on to
 * the interaction or account page that started the flow, which checks it against its cookie.
 */
export function gitHubCallbackRouter(deps: { audit: Audit; page: Page }): Router {
  const router = new Router();
  router.get(GITHUB_CALLBACK_PATH, async (ctx) => {
    const target = relayTarget(ctx.query.state);
    if (target) {
      ctx.status = 303;
      ctx.redirect(`${target}?${ctx.querystring}`);
      return;
    }
    await deps.audit({ type: 'github.failed', ...seenIn(ctx), details: { reason: 'state_mismatch' } });
    showGitHubFailure(ctx, deps.page, 'state_mismatch', { href: '/account/sign-in', text: 'Sign in' });
  });
  return router;
}
