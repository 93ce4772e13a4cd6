import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Router from '@koa/router';
import Koa from 'koa';
import { routesBySegment } from '../../server/http/routes-by-segment.ts';

// Routers gated by their first segments answer exactly as the routers themselves would.
describe('routesBySegment', () => {
  let server: Server;
  let tried: string[];

  beforeAll(async () => {
    const admin = new Router({ prefix: '/admin' });
    admin.use(async (_ctx, next) => {
      tried.push('admin middleware');
      await next();
    });
    admin.get('/', (ctx) => {
      ctx.body = 'admin home';
    });
    admin.post('/clients/:id', (ctx) => {
      ctx.body = `client ${ctx.params.id}`;
    });
    const params = new Router();
    params.get('/:anything/page', (ctx) => {
      ctx.body = `page of ${ctx.params.anything}`;
    });
    const app = new Koa();
    app.use(async (ctx, next) => {
      tried = [];
      await next();
      ctx.set('x-tried', tried.join(','));
    });
    app.use(routesBySegment(admin));
    app.use(admin.allowedMethods());
    app.use(routesBySegment(params));
    app.use((ctx) => {
      tried.push('downstream');
      ctx.status = 404;
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = (method: string, path: string) =>
    new Promise<{ status: number; body: string; tried: string; allow: string | undefined }>((resolve, reject) => {
      const { port } = server.address() as AddressInfo;
      const req = httpRequest({ host: '127.0.0.1', port, method, path }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            tried: String(res.headers['x-tried'] ?? ''),
            allow: res.headers.allow,
          }),
        );
      });
      req.on('error', reject);
      req.end();
    });

  it('runs a router for its own segment, in any case, with its middleware', async () => {
    expect(await send('GET', '/admin')).toMatchObject({ status: 200, body: 'admin home', tried: 'admin middleware' });
    expect(await send('GET', '/ADMIN/')).toMatchObject({ status: 200, body: 'admin home' });
    expect(await send('POST', '/admin/clients/7')).toMatchObject({ status: 200, body: 'client 7' });
  });

  it('skips it elsewhere, and a router whose first segment is a parameter is always tried', async () => {
    expect(await send('GET', '/token')).toMatchObject({ status: 404, tried: 'downstream' });
    expect(await send('GET', '/token/page')).toMatchObject({ status: 200, body: 'page of token' });
    expect(await send('GET', '/administrator')).toMatchObject({ status: 404, tried: 'downstream' });
  });

  it('keeps allowedMethods answering as before: 405 on its routes, 501 for a method no router implements', async () => {
    expect(await send('DELETE', '/admin/clients/7')).toMatchObject({ status: 405, allow: 'POST' });
    expect(await send('TRACE', '/elsewhere')).toMatchObject({ status: 501 });
    expect(await send('GET', '/elsewhere')).toMatchObject({ status: 404 });
  });
});
