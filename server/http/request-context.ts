import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { errors } from 'oidc-provider';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { CsrfError } from './csrf.ts';
import { failedDependency, RETRY_AFTER_SECONDS, reasonOf, UNAVAILABLE_DESCRIPTION } from './dependency-errors.ts';
import type { Metrics } from './metrics.ts';
import type { Page } from './pages.ts';

/**
 * The outermost middleware: a request id (taken from X-Request-Id when it looks like one), one
 * access-log line per request (path only: query strings carry codes and tokens), and the error
 * boundary. A user sees a clear message and the request id; a stack trace only reaches the log.
 * A dependency that is down (see dependency-errors.ts) is a 503 with Retry-After: a "try again
 * shortly" page, or `temporarily_unavailable` in JSON; it is logged as a warning, without a stack.
 */
const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

export function requestContext(logger: Logger, page: Page, metrics: Metrics): Middleware {
  return async (ctx, next) => {
    const given = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(given) ? given : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    try {
      await next();
    } catch (err) {
      respondWithError(ctx, err, logger, page);
    } finally {
      const elapsed = performance.now() - started;
      metrics.observeRequest(ctx, elapsed / 1000);
      if (ctx.state.unavailableDependency) metrics.countUnavailable(ctx.state.unavailableDependency);
      const ms = Math.round(elapsed * 10) / 10;
      logger.info({ reqId: requestId, method: ctx.method, path: ctx.path, status: ctx.status, ms }, 'request');
    }
  };
}

function respondWithError(ctx: Context, err: unknown, logger: Logger, page: Page) {
  const dependency = failedDependency(err);
  if (dependency) {
    logger.warn({ reqId: ctx.state.requestId, dependency, reason: reasonOf(err) }, 'dependency unavailable');
    ctx.state.unavailableDependency = dependency;
    respondUnavailable(ctx, page);
    return;
  }
  const { status, error, message } = describe(err);
  if (status >= 500) logger.error({ err, reqId: ctx.state.requestId }, 'request failed');
  if (wantsPage(ctx)) {
    page(
      ctx,
      'error',
      { title: 'Error', heading: headingFor(status), message, requestId: ctx.state.requestId },
      status,
    );
  } else {
    ctx.status = status;
    ctx.body = { error, error_description: message };
  }
}

function describe(err: unknown): { status: number; error: string; message: string } {
  if (err instanceof AppError) return { status: err.status, error: err.code, message: err.message };
  if (err instanceof CsrfError) {
    return {
      status: 403,
      error: 'invalid_csrf',
      message: 'This form has expired. Go back, reload the page and try again.',
    };
  }
  if (err instanceof errors.SessionNotFound) {
    return {
      status: 400,
      error: 'interaction_expired',
      message: 'This sign-in request has expired or was already used. Go back to the application and sign in again.',
    };
  }
  if (err instanceof errors.OIDCProviderError) {
    return { status: err.status, error: err.error, message: err.error_description ?? err.message };
  }
  // Koa and its body parser mark errors whose message is safe to show with `expose`; a client
  // error without it (co-body's JSON SyntaxError) keeps its status with a message of ours.
  const http = err as { status?: number; expose?: boolean; message?: string };
  if (http.status && http.status >= 400 && http.status < 500) {
    const message = http.expose ? (http.message ?? 'Bad request') : 'The request body could not be read.';
    return { status: http.status, error: 'invalid_request', message };
  }
  return { status: 500, error: 'server_error', message: 'Something went wrong on our side. Please try again.' };
}

/** 503 with Retry-After: a page for a browser, RFC 6749's `temporarily_unavailable` for the rest. */
export function respondUnavailable(ctx: Context, page: Page, asPage = wantsPage(ctx)): void {
  ctx.set('Retry-After', String(RETRY_AFTER_SECONDS));
  if (asPage) {
    page(
      ctx,
      'error',
      {
        title: 'Try again shortly',
        heading: 'Try again shortly',
        message: UNAVAILABLE_DESCRIPTION,
        requestId: ctx.state.requestId,
      },
      503,
    );
  } else {
    ctx.status = 503;
    ctx.type = 'json';
    ctx.body = { error: 'temporarily_unavailable', error_description: UNAVAILABLE_DESCRIPTION };
  }
}

/** The JSON API always answers JSON; elsewhere, a browser gets a page. */
function wantsPage(ctx: Context): boolean {
  return !ctx.path.toLowerCase().startsWith('/api/') && ctx.accepts('html', 'json') === 'html';
}

function headingFor(status: number): string {
  if (status === 404) return 'Page not found';
  if (status >= 500) return 'Something went wrong';
  return 'This request cannot be completed';
}

/**
 * Wraps everything after the routers: a path a route serves, asked with a method it does not
 * have, is a 405 naming the methods it has in `Allow` (RFC 9110), in the shape the caller asked
 * for, not the 404 of a path that does not exist.
 */
export function methodNotAllowed(router: Router, page: Page): ReturnType<Router['allowedMethods']> {
  const allowed = router.allowedMethods();
  return async (ctx, next) => {
    await allowed(ctx, next);
    if (ctx.status !== 405) return;
    const message = `This address does not take ${ctx.method}: use ${ctx.response.get('Allow')}.`;
    if (wantsPage(ctx)) {
      page(ctx, 'error', { title: 'Not allowed', heading: headingFor(405), message }, 405);
    } else {
      ctx.body = { error: 'method_not_allowed', error_description: message };
    }
  };
}

/** Nothing matched: a 404 in the shape the caller asked for. */
export function notFound(page: Page): Middleware {
  return async (ctx) => {
    if (wantsPage(ctx)) {
      page(
        ctx,
        'error',
        { title: 'Not found', heading: 'Page not found', message: 'There is nothing at this address.' },
        404,
      );
    } else {
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'There is nothing at this address.' };
    }
  };
}
