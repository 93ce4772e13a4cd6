import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import type { JWK } from 'jose';
import { rejectNulInUrl } from '../http/nul-bytes.ts';
import type { OidcHost } from '../oidc/provider.ts';
import { parseInput } from '../validation.ts';
import { adminAuthentication } from './auth.ts';
import type { AdminDeps, Caller, Endpoint } from './endpoint.ts';
import { ADMIN_ENDPOINTS } from './endpoints.ts';
import { openApiDocument } from './openapi.ts';

/**
 * /api/admin: every endpoint of ADMIN_ENDPOINTS behind the admin check, JSON bodies up to 64 kB
 * (larger: 413; another type: 415), params, query and body validated by the endpoint's own
 * schemas (bad: 400), and no NUL character anywhere in them (400).
 * /api/openapi.json: the document generated from the same endpoints, public.
 */
const ADMIN_PREFIX = '/api/admin';

export function adminApiRouter(
  deps: AdminDeps & {
    publicKeys: () => JWK[];
    grantOfAccessToken: OidcHost['grantOfAccessToken'];
    accessTokenRevoked: OidcHost['accessTokenRevoked'];
  },
): Router {
  const router = new Router();
  router.use(rejectNulInUrl);
  // Built at the first request for it: most nodes never serve it, and it is a large object.
  let document: ReturnType<typeof openApiDocument> | undefined;
  router.get('/api/openapi.json', (ctx) => {
    document ??= openApiDocument(ADMIN_ENDPOINTS, deps.issuer, ADMIN_PREFIX);
    ctx.body = document;
  });

  const auth = adminAuthentication(deps);
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' });
  for (const e of ADMIN_ENDPOINTS) {
    const path = ADMIN_PREFIX + e.path.replace(/\{(\w+)\}/g, ':$1');
    router[e.method](path, auth, json, async (ctx) => {
      // The parser reads JSON only; a body of another type would pass as no body at all.
      if (e.body && ctx.is('application/json') === false) ctx.throw(415, 'Send the body as application/json.');
      const caller = ctx.state.caller as Caller;
      const result = await (e as Endpoint).handle({
        params: e.params ? parseInput(e.params, ctx.params) : undefined,
        query: e.query ? parseInput(e.query, ctx.query) : undefined,
        body: e.body ? parseInput(e.body, ctx.request.body ?? {}) : undefined,
        caller,
        actor: caller.kind === 'api_key' ? `api_key:${caller.id}` : `user:${caller.subject}`,
        ctx,
        deps,
      });
      ctx.status = e.status ?? 200;
      if (e.location) ctx.set('Location', ADMIN_PREFIX + e.location(result as Parameters<typeof e.location>[0]));
      if (ctx.status !== 204) ctx.body = result;
    });
  }
  return router;
}
