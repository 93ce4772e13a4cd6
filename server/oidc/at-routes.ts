import type { KoaContextWithOIDC, Provider } from 'oidc-provider';

type ProviderMiddleware = (ctx: KoaContextWithOIDC, next: () => Promise<void>) => Promise<void>;

/**
 * `middleware` (for `provider.use`) run only for requests to some of the provider's routes, by
 * name; every other request passes it by without an async hop. A request is at a route when its
 * path is the route's as oidc-provider's router matches it: in any letter case, with or without
 * one trailing slash (`/DEVICE/` is /device). The router matches only ASCII paths that way, and
 * for those lowering both sides is the same comparison; for any other path this may only say yes
 * where the router says no, so a guard is never skipped. Known before the route runs, this is
 * what lets a guard answer in its place.
 */
export function atRoutes(provider: Provider, routes: string[], middleware: ProviderMiddleware): ProviderMiddleware {
  const paths = new Set(routes.map((route) => provider.pathFor(route).toLowerCase()));
  return (ctx, next) => (paths.has(comparablePath(ctx.path)) ? middleware(ctx, next) : next());
}

function comparablePath(path: string): string {
  const lower = path.toLowerCase();
  return lower.length > 1 && lower.endsWith('/') ? lower.slice(0, -1) : lower;
}
