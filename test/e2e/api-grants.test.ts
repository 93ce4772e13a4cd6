import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { relyingParty } from '../support/oidc-flow.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * A machine client gets tokens only for the APIs it was granted (by name with --api, or through
 * one of the API's scopes), and only the scopes it holds: anything else is refused as RFC 6749
 * and RFC 8707 name it. The admin API is granted by name only.
 */
const REPORTS = 'https://api.example.test/reports';
const BILLING = 'https://api.example.test/billing';

interface Client {
  client_id: string;
  client_secret: string;
  apis: string[];
}

let tessera: RunningTessera;
let admin: string;

async function machine(...flags: string[]): Promise<Client> {
  return (await tessera.cli(['clients', 'create', '--name', 'Job', '--type', 'machine', ...flags])).json<Client>();
}

async function tokens(client: Client, parameters: Record<string, string>) {
  const config = await relyingParty(tessera.issuer, client.client_id, client.client_secret);
  return oidc.clientCredentialsGrant(config, parameters);
}

beforeAll(async () => {
  tessera = await startTessera();
  admin = `${tessera.issuer}/api/admin`;
  const api = (audience: string, ...scopes: string[]) =>
    tessera.cli(['apis', 'create', '--audience', audience, ...scopes.flatMap((s) => ['--scope', s])]);
  (await api(REPORTS, 'reports:read', 'reports:write')).json();
  (await api(BILLING, 'billing:read')).json();
});

afterAll(async () => {
  await tessera?.dispose();
});

describe('client_credentials for an API', () => {
  it('refuses an API the client was not granted with invalid_target, and issues no token', async () => {
    const job = await machine('--role', 'admin', '--scope', 'reports:read');
    for (const resource of [BILLING, admin]) {
      await expect(tokens(job, { resource })).rejects.toMatchObject({ error: 'invalid_target' });
    }
  });

  it('grants an API named with --api, and one of whose scopes the client holds', async () => {
    const named = await machine('--api', BILLING);
    expect(named.apis).toEqual([BILLING]);
    expect(decodeJwt((await tokens(named, { resource: BILLING })).access_token).aud).toBe(BILLING);
    await expect(tokens(named, { resource: REPORTS })).rejects.toMatchObject({ error: 'invalid_target' });

    const scoped = await machine('--scope', 'reports:write');
    expect(decodeJwt((await tokens(scoped, { resource: REPORTS })).access_token)).toMatchObject({
      aud: REPORTS,
      scope: 'reports:write',
    });
  });

  it('gives the admin API audience only to a client that names it with --api', async () => {
    const named = await machine('--api', admin, '--role', 'admin');
    const token = (await tokens(named, { resource: admin })).access_token;
    const res = await fetch(new URL('/api/admin/roles', tessera.issuer), {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);

    const unnamed = await machine('--role', 'admin', '--scope', 'openid', '--scope', 'reports:read');
    await expect(tokens(unnamed, { resource: admin })).rejects.toMatchObject({ error: 'invalid_target' });
  });

  it('stops a machine client’s admin API token once its role, then the admin API itself, is withdrawn', async () => {
    const job = await machine('--api', admin, '--role', 'admin');
    const token = (await tokens(job, { resource: admin })).access_token;
    const call = async () =>
      (await fetch(new URL('/api/admin/roles', tessera.issuer), { headers: { authorization: `Bearer ${token}` } }))
        .status;
    expect(await call()).toBe(200);
    (await tessera.cli(['clients', 'update', job.client_id, '--role', ''])).json();
    await eventually(async () => expect(await call()).toBe(403), 5_000);
    (await tessera.cli(['clients', 'update', job.client_id, '--role', 'admin', '--api', ''])).json();
    await eventually(async () => expect(await call()).toBe(401), 5_000);
  });

  it('follows `clients update --api`, which replaces the list, within seconds and without a restart', async () => {
    const job = await machine('--api', BILLING);
    const updated = (await tessera.cli(['clients', 'update', job.client_id, '--api', REPORTS])).json<Client>();
    expect(updated.apis).toEqual([REPORTS]);
    await eventually(async () => {
      expect(decodeJwt((await tokens(job, { resource: REPORTS })).access_token).aud).toBe(REPORTS);
      await expect(tokens(job, { resource: BILLING })).rejects.toMatchObject({ error: 'invalid_target' });
    });
    const emptied = (await tessera.cli(['clients', 'update', job.client_id, '--api', ''])).json<Client>();
    expect(emptied.apis).toEqual([]);
    await eventually(() =>
      expect(tokens(job, { resource: REPORTS })).rejects.toMatchObject({ error: 'invalid_target' }),
    );
  });

  it('refuses --api naming no registered API, on create and update, with a clear message', async () => {
    const created = await tessera.cli([
      'clients',
      'create',
      '--name',
      'X',
      '--type',
      'machine',
      '--api',
      'https://nope.test',
    ]);
    expect(created.code).toBe(1);
    expect(created.stderr).toContain('API https://nope.test does not exist');
    const job = await machine();
    const updated = await tessera.cli(['clients', 'update', job.client_id, '--api', 'not a url']);
    expect(updated.code).toBe(1);
    expect(updated.stderr).toContain('apis[0]');
    expect((await tessera.cli(['clients', 'show', job.client_id])).json<Client>().apis).toEqual([]);
  });
});

describe('client_credentials scopes (RFC 6749 §3.3)', () => {
  it('refuses a scope the client may not have with invalid_scope', async () => {
    const job = await machine('--scope', 'reports:read');
    await expect(tokens(job, { resource: REPORTS, scope: 'reports:read reports:write' })).rejects.toMatchObject({
      error: 'invalid_scope',
    });
    await expect(tokens(job, { resource: REPORTS, scope: 'openid' })).rejects.toMatchObject({ error: 'invalid_scope' });
    // Without an API, a scope belonging to one is not the client's either.
    await expect(tokens(job, { scope: 'reports:read' })).rejects.toMatchObject({ error: 'invalid_scope' });
  });

  it('gives the scopes the client holds for the API when it names none, and says so', async () => {
    const job = await machine('--scope', 'reports:read', '--scope', 'reports:write', '--scope', 'billing:read');
    const answer = await tokens(job, { resource: REPORTS });
    expect(answer.scope?.split(' ').sort()).toEqual(['reports:read', 'reports:write']);
    expect(String(decodeJwt(answer.access_token).scope).split(' ').sort()).toEqual(['reports:read', 'reports:write']);

    const narrower = await tokens(job, { resource: REPORTS, scope: 'reports:read' });
    expect(narrower.scope).toBe('reports:read');
    expect(decodeJwt(narrower.access_token).scope).toBe('reports:read');
  });

  it('answers a hundred concurrent requests for a scope not held with invalid_scope, every one', async () => {
    const job = await machine('--scope', 'reports:read');
    const config = await relyingParty(tessera.issuer, job.client_id, job.client_secret);
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        oidc.clientCredentialsGrant(config, { resource: REPORTS, scope: 'reports:write' }).then(
          () => 'issued',
          (err: { error?: string }) => err.error,
        ),
      ),
    );
    expect(new Set(answers)).toEqual(new Set(['invalid_scope']));
  });
});

describe('clients in the admin REST API', () => {
  it('create and update carry `apis`, checked against the registered APIs, and OpenAPI documents it', async () => {
    const key = (await tessera.cli(['api-keys', 'create', '--name', 'k', '--role', 'admin'])).json<{ key: string }>()
      .key;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(new URL(path, tessera.issuer), {
        method,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const created = await call('POST', '/api/admin/clients', { name: 'Job', type: 'machine', apis: [BILLING] });
    expect(created).toMatchObject({ status: 201, body: { apis: [BILLING] } });
    const id = String(created.body.client_id);
    const patched = await call('PATCH', `/api/admin/clients/${id}`, { apis: [REPORTS, admin] });
    expect(patched.status).toBe(200);
    expect([...(patched.body.apis as string[])].sort()).toEqual([REPORTS, admin].sort());
    expect(await call('PATCH', `/api/admin/clients/${id}`, { apis: ['https://nope.test'] })).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });
    expect([...((await call('GET', `/api/admin/clients/${id}`)).body.apis as string[])].sort()).toEqual(
      [REPORTS, admin].sort(),
    );

    const document = (await (await fetch(new URL('/api/openapi.json', tessera.issuer))).json()) as {
      components: { schemas: Record<string, { properties: Record<string, unknown> }> };
    };
    expect(Object.keys(document.components.schemas.Client?.properties ?? {})).toContain('apis');
  });
});
