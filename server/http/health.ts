import Router from '@koa/router';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Metrics } from './metrics.ts';

/**
 * /healthz: the process answers. /readyz: and its database does, within two seconds. /metrics:
 * Prometheus text (see metrics.ts); like most exporters it asks for no credentials, so keep it
 * to the internal network at the proxy. These paths answer only as written (no other letter case,
 * no trailing slash), so a proxy rule for the exact path covers them.
 */
export function healthRouter(db: Db, stylesheet: string, metrics: Metrics): Router {
  const router = new Router({ sensitive: true, strict: true });
  router.get('/healthz', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    try {
      await Promise.race([
        sql`select 1`.execute(db),
        new Promise((_, reject) => setTimeout(() => reject(new Error('database timeout')), 2_000).unref()),
      ]);
      ctx.body = { status: 'ok' };
    } catch {
      ctx.status = 503;
      ctx.body = { status: 'unavailable', reason: 'database unreachable' };
    }
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.contentType;
    ctx.body = await metrics.render();
  });
  router.get('/assets/tessera.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = stylesheet;
  });
  return router;
}
