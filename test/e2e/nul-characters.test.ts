import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AdminApi, startAdminApi } from '../support/admin-api.ts';

/**
 * A NUL character anywhere a caller can put one (PostgreSQL text cannot hold it) is answered with
 * a clear 400, never a 500: form fields, path parameters, query strings, JSON bodies, and the
 * parameters of oidc-provider's own endpoints. Nothing is written on the way.
 */
const REDIRECT = 'http://127.0.0.1:7779/callback';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

let api: AdminApi;
let spa: { client_id: string };
let web: { client_id: string; client_secret: string };
const url = (path: string) => new URL(path, api.tessera.issuer);

beforeAll(async () => {
  api = await startAdminApi();
  spa = (
    await api.tessera.cli(['clients', 'create', '--name', 'SPA', '--type', 'spa', '--redirect-uri', REDIRECT])
  ).json();
  web = (
    await api.tessera.cli(['clients', 'create', '--name', 'Web', '--type', 'web', '--redirect-uri', REDIRECT])
  ).json();
});

afterAll(async () => {
  await api?.tessera.dispose();
});

/** A browser's cookie jar, just enough to carry an interaction and its form token. */
class Browserish {
  readonly cookies = new Map<string, string>();

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('accept', 'text/html');
    headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url(path), { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      this.cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  }

  /** Posts a form as the page at `pagePath` would, with its CSRF token. */
  async post(pagePath: string, action: string, fields: Record<string, string>): Promise<Response> {
    const page = await (await this.fetch(pagePath)).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    expect(csrf).not.toBe('');
    return this.fetch(action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, ...fields }).toString(),
    });
  }
}

async function startSignIn(browser: Browserish): Promise<string> {
  const auth = new URLSearchParams({
    client_id: spa.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
  });
  const res = await browser.fetch(`/auth?${auth}`);
  expect(res.status).toBe(303);
  return res.headers.get('location') ?? '';
}

async function expectClearPage(res: Response) {
  expect(res.status).toBe(400);
  const html = await res.text();
  expect(html).toContain('The request contains a NUL character');
  expect(html).not.toMatch(/at \S+\.ts:\d+/);
}

describe('forms', () => {
  it('answer a NUL in the login or password field with a clear 400 page', async () => {
    const browser = new Browserish();
    const interaction = await startSignIn(browser);
    for (const fields of [
      { login: 'someone\u0000@example.test', password: 'whatever it is' },
      { login: 'someone', password: 'pass\u0000word' },
    ]) {
      await expectClearPage(await browser.post(interaction, `${interaction}/login`, fields));
    }
    // The interaction is still there: the person can correct the form and go on.
    const again = await browser.post(interaction, `${interaction}/login`, { login: 'nobody', password: 'wrong one' });
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('Incorrect email, username or password.');
  });

  it('answer a NUL in the sign-up and forgot-password forms with a clear 400 page', async () => {
    const browser = new Browserish();
    const interaction = await startSignIn(browser);
    await expectClearPage(
      await browser.post(`${interaction}/signup`, `${interaction}/signup`, {
        email: 'new@example.test',
        username: 'new\u0000comer',
        full_name: 'New Comer',
        password: 'a long and unusual passphrase',
      }),
    );
    await expectClearPage(
      await browser.post('/forgot-password', '/forgot-password', { email: 'a\u0000@example.test' }),
    );
    const users = await api.call('get', '/api/admin/users');
    expect(users.body.total).toBe(0);
  });
});

describe('paths and query strings', () => {
  it.each([
    '/interaction/abc%00def',
    '/interaction/abc%00def/login',
    '/verify-email?token=%00',
    '/reset-password?token=abc%00',
    '/account?done=%00',
  ])('answer %s with a clear 400 page', async (path) => {
    await expectClearPage(await new Browserish().fetch(path));
  });

  it('leave authorization requests to the protocol: a NUL client_id is an unknown client, a NUL state is carried', async () => {
    const request = (changes: Record<string, string>) =>
      `/auth?${new URLSearchParams({
        client_id: spa.client_id,
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid',
        code_challenge: CHALLENGE,
        code_challenge_method: 'S256',
        ...changes,
      })}`;
    const unknown = await new Browserish().fetch(request({ client_id: 'a\u0000b' }));
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('invalid_client');
    for (const changes of [{ state: 'a\u0000b' }, { login_hint: 'someone\u0000' }] as Record<string, string>[]) {
      const carried = await new Browserish().fetch(request(changes));
      expect(carried.status).toBe(303);
      expect(carried.headers.get('location')).toMatch(/^\/interaction\//);
    }
  });

  it('answer a NUL in an account page path before any form check', async () => {
    const res = await new Browserish().fetch('/account/sessions/a%00b/revoke', { method: 'POST' });
    await expectClearPage(res);
  });
});

describe('the admin API', () => {
  it.each([
    ['get', '/api/admin/users/a%00b'],
    ['patch', '/api/admin/users/a%00b'],
    ['delete', '/api/admin/users/a%00b'],
    ['post', '/api/admin/users/a%00b/disable'],
    ['get', '/api/admin/clients/a%00b'],
    ['delete', '/api/admin/clients/a%00b'],
    ['get', '/api/admin/roles/a%00b'],
    ['delete', '/api/admin/api-keys/a%00b'],
    ['get', '/api/admin/users?q=%00'],
    ['get', '/api/admin/audit-events?user_id=a%00b'],
    ['get', '/api/admin/audit-events?type=%00'],
  ])('answers %s %s with 400 invalid_input', async (method, path) => {
    const res = await api.call(method, path, method === 'patch' ? { body: {} } : {});
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_input', error_description: expect.stringContaining('NUL character') });
  });

  it('refuses a NUL in a JSON body, naming the field, and creates nothing', async () => {
    const cases: [string, unknown, string][] = [
      ['/api/admin/users', { email: 'x@example.test', password: 'a long and\u0000 unusual passphrase' }, 'password'],
      ['/api/admin/users', { email: 'x@example.test', name: 'X\u0000', password: 'a long and unusual one' }, 'name'],
      ['/api/admin/roles', { name: 'ops\u0000' }, 'name'],
      ['/api/admin/roles', { name: 'ops', description: 'runs\u0000things' }, 'description'],
      ['/api/admin/clients', { name: 'Portal\u0000', type: 'machine' }, 'name'],
      ['/api/admin/api-keys', { name: 'k\u0000' }, 'name'],
    ];
    for (const [path, body, field] of cases) {
      const res = await api.call('post', path, { body });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        error: 'invalid_input',
        error_description: `${field}: must not contain a NUL character`,
      });
    }
    expect((await api.call('get', '/api/admin/users')).body.total).toBe(0);
    expect((await api.call('get', '/api/admin/roles')).body.map((r: { name: string }) => r.name)).not.toContain('ops');
  });
});

describe('the token endpoints', () => {
  const form = (body: Record<string, string>, authorization?: string) => ({
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(authorization ? { authorization } : {}),
    },
    body: new URLSearchParams(body).toString(),
  });
  const basic = () => `Basic ${Buffer.from(`${web.client_id}:${web.client_secret}`).toString('base64')}`;

  it('answer a NUL in a client id or a token with the protocol error, never 500', async () => {
    const answers = await Promise.all([
      fetch(url('/token'), form({ grant_type: 'client_credentials', client_id: 'a\u0000b', client_secret: 'x' })),
      fetch(url('/token'), form({ grant_type: 'refresh_token', refresh_token: 'a\u0000b' }, basic())),
      fetch(
        url('/token'),
        form({ grant_type: 'authorization_code', code: 'a\u0000b', redirect_uri: REDIRECT }, basic()),
      ),
      fetch(url('/token/introspection'), form({ token: 'a\u0000b' }, basic())),
      fetch(url('/token/revocation'), form({ token: 'a\u0000b' }, basic())),
    ]);
    const got = await Promise.all(answers.map(async (r) => [r.status, r.status === 200 ? '' : (await r.json()).error]));
    expect(got).toEqual([
      [401, 'invalid_client'],
      [400, 'invalid_grant'],
      [400, 'invalid_grant'],
      [200, ''],
      [200, ''],
    ]);
  });
});

describe('the log', () => {
  it('has no 500 and no server error for any of it', () => {
    expect(api.tessera.logs()).not.toMatch(/"status":5\d\d|request failed|server error/);
  });
});
