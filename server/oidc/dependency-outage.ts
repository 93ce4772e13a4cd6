import type { Context } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { type Dependency, failedDependency, reasonOf } from '../http/dependency-errors.ts';
import type { Page } from '../http/pages.ts';
import { respondUnavailable } from '../http/request-context.ts';
import type { Logger } from '../logger.ts';

/**
 * oidc-provider catches every error its endpoints throw and answers 500 `server_error` ("oops!
 * something went wrong"), telling only its `server_error` event what the error was. A database
 * or Redis outage must instead answer 503 `temporarily_unavailable` with Retry-After (a page for
 * a browser), as Tessera's own routes do. So the event marks the request with the dependency that
 * failed, and a middleware around the endpoints (`provider.use`) rewrites the finished answer.
 * Errors thrown past the library's handler (a session saved after the answer) reach Tessera's
 * error boundary, which answers the same way.
 */
const UNAVAILABLE = Symbol('dependency unavailable');

type Marked = Context & { state: { [UNAVAILABLE]?: Dependency } };

/** For the provider's `server_error` event: marks an outage, logs anything else as the error it is. */
export function onServerError(logger: Logger) {
  return (ctx: KoaContextWithOIDC, err: Error) => {
    const dependency = failedDependency(err);
    if (!dependency) {
      logger.error({ err, reqId: ctx.state.requestId, route: ctx.oidc?.route }, 'oidc-provider server error');
      return;
    }
    (ctx as unknown as Marked).state[UNAVAILABLE] = dependency;
    logger.warn(
      { reqId: ctx.state.requestId, route: ctx.oidc?.route, dependency, reason: reasonOf(err) },
      'dependency unavailable',
    );
  };
}

/** `provider.use` it first: answers a marked request 503 instead of the library's 500. */
export function answerOutagesAs503(page: Page) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    await next();
    const dependency = (ctx as unknown as Marked).state[UNAVAILABLE];
    if (!dependency) return;
    ctx.state.unavailableDependency = dependency;
    // A page only for a caller that prefers one, as the library decides: `*/*` gets JSON.
    respondUnavailable(ctx, page, ctx.accepts('json', 'html') === 'html');
  };
}
