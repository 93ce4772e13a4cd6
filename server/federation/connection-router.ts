import Router from '@koa/router';
import type { Audit } from '../audit/audit.ts';
import { seenIn } from '../audit/audit.ts';
import { rejectNulInUrl } from '../http/nul-bytes.ts';
import type { Page } from '../http/pages.ts';
import { showUpstreamFailure } from './upstream-failures.ts';
import { connectionCallbackPath, upstreamRelayTarget } from './upstream-flow.ts';

/**
 * The callback URL registered at each upstream. It only passes the answer on to the interaction
 * that started the flow, which checks it against its cookie (interaction/connection.ts).
 */
export function connectionCallbackRouter(deps: { audit: Audit; page: Page }): Router {
  const router = new Router();
  router.use(rejectNulInUrl);
  router.get(connectionCallbackPath(':id'), async (ctx) => {
    const target = upstreamRelayTarget(ctx.params.id ?? '', ctx.query.state);
    if (target) {
      ctx.status = 303;
      ctx.redirect(`${target}?${ctx.querystring}`);
      return;
    }
    await deps.audit({ type: 'upstream.failed', ...seenIn(ctx), details: { reason: 'state_mismatch' } });
    showUpstreamFailure(ctx, deps.page, 'state_mismatch', 'the sign-in service', {
      href: '/account/sign-in',
      text: 'Sign in',
    });
  });
  return router;
}
