import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type AdminApi, startAdminApi } from '../support/admin-api.ts';

/** Clients, APIs, roles and API keys through the admin API, and how it answers bad input. */
let api: AdminApi;

beforeAll(async () => {
  api = await startAdminApi();
});

afterAll(async () => {
  await api?.tessera.dispose();
});

describe('clients', () => {
  it('creates with a secret shown once, rotates it, validates changes and deletes', async () => {
    const created = await api.call('post', '/api/admin/clients', {
      body: { name: 'Portal', type: 'web', redirect_uris: ['https://portal.example.test/cb'], roles: ['admin'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      type: 'web',
      roles: ['admin'],
      client_secret: expect.any(String),
      refresh_grace_seconds: 5,
    });
    const id = created.body.client_id as string;

    // Where the new client is read, as its Location says.
    expect(created.headers.get('location')).toBe(`/api/admin/clients/${id}`);
    const shown = await api.call('get', created.headers.get('location') ?? '');
    expect(shown.body).not.toHaveProperty('client_secret');
    const listed = await api.call('get', '/api/admin/clients');
    expect(listed.body.map((c: { client_id: string }) => c.client_id)).toContain(id);

    const rotated = await api.call('post', `/api/admin/clients/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.client_secret).toEqual(expect.any(String));
    expect(rotated.body.client_secret).not.toBe(created.body.client_secret);

    const badUri = await api.call('patch', `/api/admin/clients/${id}`, { body: { redirect_uris: ['ftp://x'] } });
    expect(badUri).toMatchObject({ status: 400, body: { error: 'invalid_input' } });
    expect(badUri.body.error_description).toContain('redirect_uris');
    const none = await api.call('patch', `/api/admin/clients/${id}`, { body: { redirect_uris: [] } });
    expect(none).toMatchObject({ status: 400, body: { error: 'invalid_input' } });

    const patched = await api.call('patch', `/api/admin/clients/${id}`, {
      body: {
        name: 'Portal 2',
        redirect_uris: ['https://portal.example.test/callback'],
        roles: [],
        refresh_grace_seconds: 0,
      },
    });
    expect(patched.body).toMatchObject({
      name: 'Portal 2',
      redirect_uris: ['https://portal.example.test/callback'],
      roles: [],
      refresh_grace_seconds: 0,
    });

    expect((await api.call('delete', `/api/admin/clients/${id}`)).status).toBe(204);
    expect((await api.call('get', `/api/admin/clients/${id}`)).status).toBe(404);
  });

  it('creates a spa client without a secret and refuses to rotate one', async () => {
    const spa = await api.call('post', '/api/admin/clients', {
      body: { name: 'SPA', type: 'spa', redirect_uris: ['http://localhost:5173/cb'] },
    });
    expect(spa.status).toBe(201);
    expect(spa.body).not.toHaveProperty('client_secret');
    const rotate = await api.call('post', `/api/admin/clients/${spa.body.client_id}/rotate-secret`);
    expect(rotate.status).toBe(400);
  });

  it('creates a public device client, sets and clears a back-channel logout URI, and refuses bad ones', async () => {
    const device = await api.call('post', '/api/admin/clients', {
      body: { name: 'Kiosk', type: 'device', backchannel_logout_uri: 'http://10.1.2.3:8080/logout' },
    });
    expect(device).toMatchObject({
      status: 201,
      body: { type: 'device', redirect_uris: [], backchannel_logout_uri: 'http://10.1.2.3:8080/logout' },
    });
    expect(device.body).not.toHaveProperty('client_secret');
    const id = device.body.client_id as string;
    const cleared = await api.call('patch', `/api/admin/clients/${id}`, { body: { backchannel_logout_uri: null } });
    expect(cleared.body).toMatchObject({ backchannel_logout_uri: null });

    const withRedirect = await api.call('post', '/api/admin/clients', {
      body: { name: 'Kiosk', type: 'device', redirect_uris: ['https://kiosk.example.test/cb'] },
    });
    expect(withRedirect).toMatchObject({ status: 400, body: { error: 'invalid_input' } });
    const notHttp = await api.call('patch', `/api/admin/clients/${id}`, {
      body: { backchannel_logout_uri: 'ftp://kiosk.example.test/logout' },
    });
    expect(notHttp).toMatchObject({ status: 400, body: { error: 'invalid_input' } });
    expect(notHttp.body.error_description).toContain('backchannel_logout_uri');
    const machine = await api.call('post', '/api/admin/clients', {
      body: { name: 'Batch', type: 'machine', backchannel_logout_uri: 'https://batch.example.test/logout' },
    });
    expect(machine).toMatchObject({ status: 400, body: { error: 'invalid_input' } });
  });
});

describe('clients: authentication', () => {
  const publicKey = {
    kty: 'EC',
    crv: 'P-256',
    x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
    y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  };

  it('takes a private_key_jwt client with inline keys, and switching to a secret hands one out once', async () => {
    const created = await api.call('post', '/api/admin/clients', {
      body: {
        name: 'Signer',
        type: 'machine',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [publicKey] },
        require_dpop: true,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [publicKey] },
      jwks_uri: null,
      require_dpop: true,
      require_par: false,
    });
    expect(created.body).not.toHaveProperty('client_secret');
    const id = created.body.client_id as string;
    const rotate = await api.call('post', `/api/admin/clients/${id}/rotate-secret`);
    expect(rotate).toMatchObject({ status: 400, body: { error: 'invalid_input' } });
    const switched = await api.call('patch', `/api/admin/clients/${id}`, {
      body: { token_endpoint_auth_method: 'client_secret_post' },
    });
    expect(switched.status).toBe(200);
    expect(switched.body).toMatchObject({
      token_endpoint_auth_method: 'client_secret_post',
      jwks: null,
      client_secret: expect.any(String),
    });
  });

  it('refuses private keys, keys without a method for them, and a public web client, with 400 and no row', async () => {
    const before = (await api.call('get', '/api/admin/clients')).body.length;
    const bodies = [
      {
        name: 'X',
        type: 'machine',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...publicKey, d: 'secret' }] },
      },
      { name: 'X', type: 'machine', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } },
      {
        name: 'X',
        type: 'machine',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: 'https://k.example.test/j',
        jwks: { keys: [publicKey] },
      },
      { name: 'X', type: 'machine', jwks_uri: 'https://k.example.test/j' },
      { name: 'X', type: 'web', redirect_uris: ['https://x.example.test/cb'], token_endpoint_auth_method: 'none' },
      { name: 'X', type: 'machine', require_dpop: 'yes' },
    ];
    for (const body of bodies) {
      const answer = await api.call('post', '/api/admin/clients', { body });
      expect({ body, status: answer.status, error: answer.body.error }).toEqual({
        body,
        status: 400,
        error: 'invalid_input',
      });
    }
    expect((await api.call('get', '/api/admin/clients')).body).toHaveLength(before);
  });

  it('documents the fields in the OpenAPI document', async () => {
    const doc = (await api.call('get', '/api/openapi.json', { as: null })).body;
    const fields = Object.keys(doc.components.schemas.Client.properties);
    expect(fields).toEqual(
      expect.arrayContaining(['token_endpoint_auth_method', 'jwks_uri', 'jwks', 'require_dpop', 'require_par']),
    );
  });
});

describe('apis', () => {
  it('creates, changes, refuses duplicates and the admin API itself, and deletes', async () => {
    const body = { audience: 'https://reports.example.test', scopes: ['reports:read'] };
    const created = await api.call('post', '/api/admin/apis', { body });
    expect(created).toMatchObject({ status: 201, body: { ...body, access_token_ttl: 600 } });
    expect((await api.call('get', created.headers.get('location') ?? '')).body).toEqual(created.body);
    expect((await api.call('post', '/api/admin/apis', { body })).status).toBe(409);

    const patched = await api.call('patch', `/api/admin/apis/${created.body.id}`, {
      body: { name: 'Reports', access_token_ttl: 300 },
    });
    expect(patched.body).toMatchObject({ name: 'Reports', access_token_ttl: 300, scopes: ['reports:read'] });

    const list = await api.call('get', '/api/admin/apis');
    const admin = list.body.find((a: { audience: string }) => a.audience === `${api.tessera.issuer}/api/admin`);
    expect(admin).toBeDefined();
    expect((await api.call('delete', `/api/admin/apis/${admin.id}`)).status).toBe(409);
    expect((await api.call('patch', `/api/admin/apis/${admin.id}`, { body: { name: 'x' } })).status).toBe(409);

    expect((await api.call('delete', `/api/admin/apis/${created.body.id}`)).status).toBe(204);
    expect((await api.call('get', `/api/admin/apis/${created.body.id}`)).status).toBe(404);
  });
});

describe('roles and API keys', () => {
  it('refuses to delete the admin role', async () => {
    const roles = await api.call('get', '/api/admin/roles');
    const admin = roles.body.find((r: { name: string }) => r.name === 'admin');
    const res = await api.call('delete', `/api/admin/roles/${admin.id}`);
    expect(res).toMatchObject({ status: 409, body: { error: 'conflict' } });
  });

  it('creates a key that works at once, and revokes it at once', async () => {
    const created = await api.call('post', '/api/admin/api-keys', { body: { name: 'deploy', roles: ['admin'] } });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect((await api.call('get', '/api/admin/roles', { as: key })).status).toBe(200);
    expect((await api.call('delete', `/api/admin/api-keys/${created.body.id}`)).status).toBe(200);
    expect((await api.call('get', '/api/admin/roles', { as: key })).status).toBe(401);

    const events = await api.call('get', '/api/admin/audit-events?type=api_key.revoked');
    expect(events.body.items[0].details).toEqual({ id: created.body.id });
  });
});

describe('bad input', () => {
  it.each([
    ['/api/admin/users', { email: 'x@example.test' }, 'password'],
    ['/api/admin/users', { email: 42, password: 'long enough pw' }, 'email'],
    ['/api/admin/users', { email: 'y@example.test', password: 'long enough pw', roles: 'admin' }, 'roles'],
    ['/api/admin/clients', { name: 'X', type: 'desktop' }, 'type'],
    ['/api/admin/clients', { type: 'machine' }, 'name'],
    ['/api/admin/clients', { name: 'M', type: 'machine', redirect_uris: ['https://x.test/cb'] }, 'redirect_uris'],
    ['/api/admin/clients', { name: 'M', type: 'machine', refresh_grace_seconds: -1 }, 'refresh_grace_seconds'],
    ['/api/admin/apis', { audience: 'not a url' }, 'audience'],
    ['/api/admin/apis', { audience: 'https://ttl.example.test', access_token_ttl: '600' }, 'access_token_ttl'],
    ['/api/admin/roles', { name: 'has spaces' }, 'name'],
    ['/api/admin/api-keys', { name: 'k', expires_in: 'soon' }, 'expires_in'],
  ])('POST %s %j → 400 naming %s', async (path, body, field) => {
    const res = await api.call('post', path, { body });
    expect(res).toMatchObject({ status: 400, body: { error: 'invalid_input' } });
    expect(res.body.error_description).toContain(field);
  });

  it('answers 400 to malformed JSON and to bad query strings, 413 to a body over 64 kB', async () => {
    expect((await api.call('post', '/api/admin/users', { raw: '{"email": ' })).status).toBe(400);
    expect((await api.call('get', '/api/admin/users?limit=1000')).status).toBe(400);
    expect((await api.call('get', '/api/admin/users?offset=-1')).status).toBe(400);
    const big = await api.call('post', '/api/admin/roles', {
      body: { name: 'big', description: 'x'.repeat(70_000) },
    });
    expect(big.status).toBe(413);
  });

  it('answers 415 to a body that is not JSON, and changes nothing', async () => {
    const made = await api.call('post', '/api/admin/users', {
      body: { email: 'typed@example.test', name: 'Typed', password: 'seven quiet herons at the weir' },
    });
    expect(made.status).toBe(201);
    const asForm = await api.call('patch', `/api/admin/users/${made.body.id}`, {
      raw: 'name=Changed',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(asForm).toMatchObject({ status: 415, body: { error_description: 'Send the body as application/json.' } });
    const asText = await api.call('post', '/api/admin/roles', { raw: '{"name":"texty"}', contentType: 'text/plain' });
    expect(asText.status).toBe(415);
    expect((await api.call('get', `/api/admin/users/${made.body.id}`)).body.name).toBe('Typed');
    expect(JSON.stringify((await api.call('get', '/api/admin/roles')).body)).not.toContain('texty');
    // Nor is JSON under another type read, merge-patch included: it would pass as no body too.
    const merge = await api.call('patch', `/api/admin/users/${made.body.id}`, {
      body: { name: 'Merged' },
      contentType: 'application/merge-patch+json',
    });
    expect(merge.status).toBe(415);
    const json = await api.call('patch', `/api/admin/users/${made.body.id}`, { body: { name: 'Renamed' } });
    expect(json).toMatchObject({ status: 200, body: { name: 'Renamed' } });
  });

  it('answers 404 for unknown ids and roles', async () => {
    expect((await api.call('patch', '/api/admin/users/nobody', { body: { name: 'X' } })).status).toBe(404);
    expect((await api.call('put', '/api/admin/users/nobody/roles', { body: { roles: [] } })).status).toBe(404);
    const unknownRole = await api.call('post', '/api/admin/clients', {
      body: { name: 'M', type: 'machine', roles: ['ghost'] },
    });
    expect(unknownRole.status).toBe(404);
  });
});

describe('the server', () => {
  it('never answered with a 5xx during these tests', () => {
    expect(api.tessera.logs()).toMatch(/"status":4\d\d/);
    expect(api.tessera.logs()).not.toMatch(/"status":5\d\d|request failed/);
  });
});
