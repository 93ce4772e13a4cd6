import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { createUser } from '../support/browser-suite.ts';
import { signInWithForms } from '../support/form-client.ts';
import { relyingParty } from '../support/oidc-flow.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * The revocation endpoint as client libraries expect it: a success is JSON (oidc-client-ts
 * refuses anything else), and a JWT access token can be revoked: introspection then says
 * inactive, while the grant and its refresh token live on.
 */
const API = 'https://api.example.test/revocation';
const REDIRECT = 'http://127.0.0.1:9/callback';

let tessera: RunningTessera;
let web: oidc.Configuration;
let webSecret: { client_id: string; client_secret: string };
let machineSecret: { client_id: string; client_secret: string };
let machine: oidc.Configuration;

beforeAll(async () => {
  tessera = await startTessera();
  (await tessera.cli(['apis', 'create', '--audience', API, '--scope', 'notes:read'])).json();
  const create = async (...flags: string[]) =>
    (await tessera.cli(['clients', 'create', '--name', 'C', '--api', API, ...flags])).json<{
      client_id: string;
      client_secret: string;
    }>();
  webSecret = await create('--type', 'web', '--redirect-uri', REDIRECT);
  web = await relyingParty(tessera.issuer, webSecret.client_id, webSecret.client_secret);
  machineSecret = await create('--type', 'machine', '--scope', 'notes:read');
  machine = await relyingParty(tessera.issuer, machineSecret.client_id, machineSecret.client_secret);
  await createUser(tessera, { username: 'rev', password: 'correct horse battery staple' });
});

afterAll(async () => {
  await tessera?.dispose();
});

const signIn = () =>
  signInWithForms(web, tessera.issuer, {
    redirectUri: REDIRECT,
    login: 'rev',
    password: 'correct horse battery staple',
    scope: 'openid offline_access notes:read',
    params: { resource: API, prompt: 'consent' },
  });

describe('token revocation', () => {
  it('answers a success with JSON, as oidc-client-ts and others parse it', async () => {
    const tokens = await signIn();
    const res = await fetch(web.serverMetadata().revocation_endpoint ?? '', {
      method: 'POST',
      headers: {
        authorization: `Basic ${btoa(`${webSecret.client_id}:${webSecret.client_secret}`)}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ token: tokens.refresh_token ?? '', token_type_hint: 'refresh_token' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({});
    await expect(oidc.refreshTokenGrant(web, tokens.refresh_token ?? '')).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it("revokes a person's JWT access token: introspection says inactive, the refresh token still works", async () => {
    const tokens = await signIn();
    expect(tokens.access_token.split('.')).toHaveLength(3);
    expect((await oidc.tokenIntrospection(web, tokens.access_token)).active).toBe(true);
    await oidc.tokenRevocation(web, tokens.access_token, { token_type_hint: 'access_token' });
    expect((await oidc.tokenIntrospection(web, tokens.access_token)).active).toBe(false);
    const refreshed = await oidc.refreshTokenGrant(web, tokens.refresh_token ?? '', { resource: API });
    expect((await oidc.tokenIntrospection(web, refreshed.access_token)).active).toBe(true);
  });

  it("rotates, introspects and revokes the same at another spelling of the endpoints' paths", async () => {
    // The library serves /TOKEN/ as /token; what Tessera adds to those endpoints must come along.
    const post = async (path: string, fields: Record<string, string>) => {
      const res = await fetch(new URL(path, tessera.issuer), {
        method: 'POST',
        headers: {
          authorization: `Basic ${btoa(`${webSecret.client_id}:${webSecret.client_secret}`)}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams(fields),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const tokens = await signIn();
    const rotated = await post('/TOKEN/', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' });
    expect(rotated.status).toBe(200);
    // The successor was written with the spend: it refreshes in turn.
    const next = await oidc.refreshTokenGrant(web, String(rotated.body.refresh_token), { resource: API });
    const jwt = next.access_token;
    expect((await post('/Token/Introspection', { token: jwt })).body).toMatchObject({ active: true, aud: API });
    expect(await post('/token/REVOCATION/', { token: jwt })).toEqual({ status: 200, body: {} });
    expect((await oidc.tokenIntrospection(web, jwt)).active).toBe(false);
  });

  it("does nothing to another client's token, JWT or refresh token, with the same 200 as an unknown one", async () => {
    const { access_token } = await oidc.clientCredentialsGrant(machine, { resource: API });
    const { refresh_token = '' } = await signIn();
    const revokeAs = async (client: { client_id: string; client_secret: string }, token: string) => {
      const res = await fetch(web.serverMetadata().revocation_endpoint ?? '', {
        method: 'POST',
        headers: {
          authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ token }),
      });
      return { status: res.status, body: await res.json() };
    };
    // The machine client presents the web client's refresh token, the web client the machine's JWT.
    const answers = await Promise.all([
      revokeAs(machineSecret, refresh_token),
      revokeAs(webSecret, access_token),
      revokeAs(webSecret, 'no-such-token'),
    ]);
    expect(answers).toEqual(Array(3).fill({ status: 200, body: {} }));
    expect((await oidc.tokenIntrospection(machine, access_token)).active).toBe(true);
    const refreshed = await oidc.refreshTokenGrant(web, refresh_token, { resource: API });
    expect(refreshed.access_token).toEqual(expect.any(String));
  });

  it('revokes a machine JWT under a hundred concurrent revocations, each answered 200', async () => {
    const { access_token } = await oidc.clientCredentialsGrant(machine, { resource: API });
    expect((await oidc.tokenIntrospection(machine, access_token)).active).toBe(true);
    const answers = await Promise.allSettled(
      Array.from({ length: 100 }, () => oidc.tokenRevocation(machine, access_token)),
    );
    expect(answers.filter((a) => a.status === 'rejected')).toEqual([]);
    expect((await oidc.tokenIntrospection(machine, access_token)).active).toBe(false);
    expect((await oidc.tokenIntrospection(web, access_token)).active).toBe(false);
  });

  it('cuts a revoked machine token off the admin API within seconds', async () => {
    const adminApi = `${tessera.issuer}/api/admin`;
    const operator = (
      await tessera.cli([
        'clients',
        'create',
        '--name',
        'Ops',
        '--type',
        'machine',
        '--role',
        'admin',
        '--api',
        adminApi,
      ])
    ).json<{ client_id: string; client_secret: string }>();
    const config = await relyingParty(tessera.issuer, operator.client_id, operator.client_secret);
    const { access_token } = await oidc.clientCredentialsGrant(config, { resource: adminApi });
    const list = () => fetch(`${adminApi}/clients`, { headers: { authorization: `Bearer ${access_token}` } });
    expect((await list()).status).toBe(200);
    await oidc.tokenRevocation(config, access_token);
    await eventually(async () => expect((await list()).status).toBe(401), 6_000);
  });
});
