import type Router from '@koa/router';

/**
 * `router.routes()`, skipped for a request whose path's first segment none of the router's routes
 * starts with. @koa/router tests every route's pattern against every request, and Tessera's
 * routers hold a few hundred between them: on a token request, which none of them serves, that
 * was about a tenth of the server's CPU. Only routes count: a router's own middleware
 * (`router.use`) runs only beside a route that matched. A route whose first segment is not a
 * plain name (a parameter, a pattern, a RegExp) keeps the router tried on every request.
 * Patterns are matched case-insensitively by default, so segments are compared in lower case.
 * A skipped router leaves what one that matched nothing leaves and others read: `ctx.matched`.
 */
export function routesBySegment(router: Router): ReturnType<Router['routes']> {
  const routes = router.routes();
  const segments = firstSegments(router);
  if (!segments) return routes;
  return (ctx, next) => {
    if (segments.has(firstSegmentOf(ctx.path))) return routes(ctx, next);
    const context = ctx as { matched?: unknown[] };
    context.matched ??= [];
    return next();
  };
}

function firstSegments(router: Router): Set<string> | undefined {
  const segments = new Set<string>();
  for (const layer of router.stack) {
    if (layer.methods.length === 0) continue;
    const path: unknown = layer.path;
    if (typeof path !== 'string' || !path.startsWith('/')) return undefined;
    const segment = firstSegmentOf(path);
    if (/[^a-z0-9._~-]/.test(segment)) return undefined;
    segments.add(segment);
  }
  return segments;
}

function firstSegmentOf(path: string): string {
  const end = path.indexOf('/', 1);
  return (end === -1 ? path.slice(1) : path.slice(1, end)).toLowerCase();
}
