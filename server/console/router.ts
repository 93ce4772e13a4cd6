import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import type { Context } from 'koa';
import { formBody } from '../http/forms.ts';
import { rejectNulInUrl } from '../http/nul-bytes.ts';
import { apiKeyPages } from './api-keys.ts';
import { apiPages } from './apis.ts';
import { auditPages } from './audit.ts';
import { clientPages } from './clients.ts';
import { connectionPages } from './connections.ts';
import type { ConsoleDeps } from './deps.ts';
import { showOverview } from './overview.ts';
import { rolePages } from './roles.ts';
import { finishConsoleSignIn, requireAdmin, startConsoleSignIn } from './session.ts';
import { signingKeyPages } from './signing-keys.ts';
import { userPages } from './users.ts';

/**
 * /admin, the operator console. Its stylesheet and copy script are public; signing in goes
 * through the console client; every other route needs an admin with a second factor (session.ts),
 * and every form post its CSRF token. Changes run the admin API's endpoints (operations.ts).
 */
const ASSETS = join(import.meta.dirname, '..', '..', 'views', 'assets');

export function consoleRouter(deps: ConsoleDeps, secure: boolean): Router {
  const form = formBody(secure);
  const asset = (file: string, type: string) => {
    const body = readFileSync(join(ASSETS, file), 'utf8');
    return (ctx: Context) => {
      ctx.type = type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = body;
    };
  };
  const users = userPages(deps);
  const clients = clientPages(deps);
  const connections = connectionPages(deps);
  const apis = apiPages(deps);
  const roles = rolePages(deps);
  const apiKeys = apiKeyPages(deps);
  const keys = signingKeyPages(deps);
  const audit = auditPages(deps);

  const router = new Router({ prefix: '/admin' });
  router.use(rejectNulInUrl);
  router.get('/assets/console.css', asset('console.css', 'text/css'));
  router.get('/assets/copy.js', asset('copy.js', 'text/javascript'));
  router.get('/sign-in', (ctx) => startConsoleSignIn(ctx, deps));
  router.get('/callback', finishConsoleSignIn);

  const admin = requireAdmin(deps);
  const page = [admin, form.token] as const;
  const post = [...form.post, admin] as const;
  router.get('/', ...page, (ctx) => showOverview(ctx, deps));

  router.get('/users', ...page, users.list);
  router.get('/users/new', ...page, users.showNew);
  router.post('/users', ...post, users.invite);
  router.get('/users/:id', ...page, users.show);
  router.post('/users/:id/roles', ...post, users.setRoles);
  router.post('/users/:id/disable', ...post, users.action('disable'));
  router.post('/users/:id/enable', ...post, users.action('enable'));
  router.post('/users/:id/mfa-reset', ...post, users.action('mfa-reset'));
  router.post('/users/:id/passkeys/:passkeyId/remove', ...post, users.removePasskey);
  router.post('/users/:id/end-sessions', ...post, users.action('end-sessions'));
  router.post('/users/:id/reset-mail', ...post, users.action('reset-mail'));
  router.get('/users/:id/delete', ...page, users.confirmDelete);
  router.post('/users/:id/delete', ...post, users.remove);

  router.get('/clients', ...page, clients.list);
  router.get('/clients/new', ...page, clients.showNew);
  router.post('/clients', ...post, clients.create);
  router.get('/clients/:id', ...page, clients.show);
  router.post('/clients/:id', ...post, clients.update);
  router.post('/clients/:id/rotate-secret', ...post, clients.rotate);
  router.get('/clients/:id/delete', ...page, clients.confirmDelete);
  router.post('/clients/:id/delete', ...post, clients.remove);

  router.get('/connections', ...page, connections.list);
  router.get('/connections/new', ...page, connections.showNew);
  router.post('/connections', ...post, connections.create);
  router.get('/connections/:id', ...page, connections.show);
  router.post('/connections/:id', ...post, connections.update);
  router.get('/connections/:id/delete', ...page, connections.confirmDelete);
  router.post('/connections/:id/delete', ...post, connections.remove);

  router.get('/apis', ...page, apis.list);
  router.post('/apis', ...post, apis.create);
  router.post('/apis/:id/delete', ...post, apis.remove);
  router.get('/roles', ...page, roles.list);
  router.post('/roles', ...post, roles.create);
  router.post('/roles/:id/delete', ...post, roles.remove);
  router.get('/api-keys', ...page, apiKeys.list);
  router.post('/api-keys', ...post, apiKeys.create);
  router.post('/api-keys/:id/revoke', ...post, apiKeys.revoke);
  router.get('/keys', ...page, keys.list);
  router.post('/keys/rotate', ...post, keys.rotate);

  router.get('/audit', ...page, audit.list);
  router.get('/audit.csv', admin, audit.csv);
  return router;
}
