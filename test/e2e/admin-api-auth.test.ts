import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import { type AdminApi, startAdminApi } from '../support/admin-api.ts';

/** Who may call every operation of the admin API, and the OpenAPI document that lists them. */
let api: AdminApi;
let revokedKey: string;
let expiredKey: string;
// biome-ignore lint/suspicious/noExplicitAny: the document is checked by the validator below.
let doc: any;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function operations(): { method: string; path: string }[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((m) => METHODS.includes(m))
      .map((method) => ({ method, path: path.replaceAll('{id}', 'no-such-id-42') })),
  );
}

const send = (op: { method: string; path: string }, as: string | null) =>
  api.call(op.method, op.path, { as, ...(op.method === 'get' || op.method === 'delete' ? {} : { body: {} }) });

beforeAll(async () => {
  api = await startAdminApi();
  const revoked = (await api.tessera.cli(['api-keys', 'create', '--name', 'old', '--role', 'admin'])).json<{
    id: string;
    key: string;
  }>();
  (await api.tessera.cli(['api-keys', 'revoke', revoked.id])).json();
  revokedKey = revoked.key;
  expiredKey = (
    await api.tessera.cli(['api-keys', 'create', '--name', 'brief', '--role', 'admin', '--expires-in', '1s'])
  ).json<{ key: string }>().key;
  await new Promise((r) => setTimeout(r, 1200));
  doc = (await api.call('get', '/api/openapi.json', { as: null })).body;
});

afterAll(async () => {
  await api?.tessera.dispose();
});

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1, under /api/admin, with 401 and 403 on every operation', async () => {
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\.1\./);
    const paths = Object.keys(doc.paths);
    for (const group of ['users', 'roles', 'clients', 'apis', 'api-keys', 'audit-events']) {
      expect(paths).toContain(`/api/admin/${group}`);
    }
    for (const path of paths) expect(path.startsWith('/api/admin/')).toBe(true);
    for (const item of Object.values(doc.paths) as Record<string, { responses: Record<string, unknown> }>[]) {
      for (const op of Object.values(item)) {
        expect(op.responses['401']).toBeDefined();
        expect(op.responses['403']).toBeDefined();
      }
    }
    expect(doc.paths['/api/admin/users'].post.responses['201'].headers.Location).toBeDefined();
  });
});

describe('authorization of every operation', () => {
  it('answers 401 with a Bearer challenge without credentials', async () => {
    for (const op of operations()) {
      const res = await send(op, null);
      expect({ ...op, status: res.status }).toEqual({ ...op, status: 401 });
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });

  it('answers 401 for a garbage token, a revoked key and an expired key', async () => {
    for (const op of operations()) {
      for (const [label, credential] of [
        ['garbage', 'not.a.token'],
        ['revoked', revokedKey],
        ['expired', expiredKey],
      ] as const) {
        const res = await send(op, credential);
        expect({ ...op, label, status: res.status }).toEqual({ ...op, label, status: 401 });
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
      }
    }
  });

  it('answers 403 to a token without the admin role', async () => {
    for (const op of operations()) {
      const res = await send(op, api.userToken);
      expect({ ...op, status: res.status }).toEqual({ ...op, status: 403 });
    }
  });

  it('lets the admin token and the admin API key through, with 4xx for a made-up id and never 500', async () => {
    for (const op of operations()) {
      for (const as of [api.adminToken, api.adminKey]) {
        const res = await send(op, as);
        expect(res.status).toBeLessThan(500);
        expect([401, 403]).not.toContain(res.status);
        if (op.path.includes('no-such-id-42')) {
          expect({ ...op, status: [400, 404].includes(res.status) }).toEqual({ ...op, status: true });
        }
      }
    }
  });
});

describe('a method a path does not have', () => {
  it('answers 405 naming the methods it has, before asking who calls', async () => {
    const paths = Object.entries(doc.paths as Record<string, Record<string, unknown>>);
    // GET /users/invitations is GET /users/{id} for a user of that id: served, not a 405.
    const served = (method: string, concrete: string) =>
      paths.some(
        ([path, item]) => method in item && new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`).test(concrete),
      );
    for (const [path, item] of paths) {
      const has = Object.keys(item).filter((m) => METHODS.includes(m));
      const concrete = path.replaceAll('{id}', 'no-such-id-42');
      for (const method of METHODS.filter((m) => !served(m, concrete))) {
        const res = await api.call(method, concrete, { as: null });
        expect({ method, path, status: res.status }).toEqual({ method, path, status: 405 });
        expect(res.body).toMatchObject({ error: 'method_not_allowed' });
        const allow = (res.headers.get('allow') ?? '').split(', ');
        for (const m of has) expect(allow).toContain(m.toUpperCase());
        expect(allow).not.toContain(method.toUpperCase());
      }
    }
    expect((await api.call('get', '/api/admin/no-such-thing', { as: null })).status).toBe(404);
  });
});

describe('the server', () => {
  it('never answered with a 5xx during these tests', () => {
    expect(api.tessera.logs()).toMatch(/"status":4\d\d/);
    expect(api.tessera.logs()).not.toMatch(/"status":5\d\d|request failed/);
  });
});
