import Koa from 'koa';
import { adminApiRouter } from './admin-api/router.ts';
import { createUpstreams } from './connections/upstreams.ts';
import { consoleRouter } from './console/router.ts';
import type { Deps } from './deps.ts';
import { connectionCallbackRouter } from './federation/connection-router.ts';
import { createGitHub } from './federation/github.ts';
import { GITHUB_CALLBACK_PATH } from './federation/github-flow.ts';
import { gitHubCallbackRouter } from './federation/router.ts';
import { healthRouter } from './http/health.ts';
import { pageScriptsRouter } from './http/page-scripts.ts';
import { methodNotAllowed, notFound, requestContext } from './http/request-context.ts';
import { routesBySegment } from './http/routes-by-segment.ts';
import { securityHeaders } from './http/security-headers.ts';
import { interactionRouter } from './interaction/router.ts';
import { selfServiceRouter } from './self-service/router.ts';

/**
 * The HTTP surface, in order: request context and errors, headers, Tessera's own routes, then
 * oidc-provider's (which end the response when they match), then 404.
 */
export function createApp(deps: Deps): Koa {
  // The provider signs its cookies with these keys; the host app must hold the same ones.
  // Behind the one proxy TRUST_PROXY trusts, the client's address is the last in X-Forwarded-For,
  // the one that proxy appended: whatever comes before it, the client may have written itself.
  const app = new Koa({ proxy: deps.config.trustProxy, maxIpsCount: 1 });
  app.keys = deps.secrets.cookieSigner;
  const health = healthRouter(deps.db, deps.stylesheet, deps.metrics);
  const secure = deps.config.issuer.startsWith('https:');
  const { github, issuer } = deps.config;
  const pageDeps = {
    db: deps.db,
    catalog: deps.catalog,
    secrets: deps.secrets,
    audit: deps.audit,
    page: deps.page,
    logger: deps.logger,
    issuer: deps.config.issuer,
    rateLimiter: deps.rateLimiter,
    github: github && createGitHub({ ...github, redirectUri: new URL(GITHUB_CALLBACK_PATH, issuer).href }),
    provider: () => deps.oidc.provider,
    upstreams: createUpstreams({ db: deps.db, secrets: deps.secrets, issuer }),
  };
  const interactions = interactionRouter(pageDeps, secure);
  const selfService = selfServiceRouter(pageDeps, secure);
  const adminConsole = consoleRouter(
    {
      ...pageDeps,
      setup: {
        mailToLog: deps.config.mailToLog,
        smtp: Boolean(deps.config.smtpUrl),
        redis: Boolean(deps.config.redisUrl),
        postgres: Boolean(deps.config.databaseUrl),
      },
    },
    secure,
  );
  const adminApi = adminApiRouter({
    db: deps.db,
    secrets: deps.secrets,
    audit: deps.audit,
    issuer: deps.config.issuer,
    publicKeys: () => deps.catalog.keySet.publicKeys,
    grantOfAccessToken: (jti) => deps.oidc.grantOfAccessToken(jti),
    accessTokenRevoked: (jti) => deps.oidc.accessTokenRevoked(jti),
  });
  app.use(requestContext(deps.logger, deps.page, deps.metrics));
  app.use(securityHeaders(secure));
  app.use(routesBySegment(health));
  app.use(routesBySegment(pageScriptsRouter()));
  app.use(routesBySegment(interactions));
  // Every router's matches land in one list, so this one answers a wrong method for all of them.
  app.use(methodNotAllowed(interactions, deps.page));
  app.use(routesBySegment(selfService));
  app.use(routesBySegment(gitHubCallbackRouter(deps)));
  app.use(routesBySegment(connectionCallbackRouter(deps)));
  app.use(routesBySegment(adminApi));
  app.use(routesBySegment(adminConsole));
  app.use(deps.oidc.middleware);
  app.use(notFound(deps.page));
  // Errors are answered by requestContext; this only keeps Koa from printing them a second time.
  app.silent = true;
  return app;
}
