import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { relyingParty } from '../support/oidc-flow.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

const API = 'https://api.example.test/reports';

let tessera: RunningTessera;
let machine: { client_id: string; client_secret: string };

async function discover(clientId: string, secret: string) {
  return relyingParty(tessera.issuer, clientId, secret);
}

function basic(id: string, secret: string) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function postForm(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(path, tessera.issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  tessera = await startTessera();
  (await tessera.cli(['roles', 'create', 'reports.reader'])).json();
  (
    await tessera.cli(['apis', 'create', '--audience', API, '--scope', 'reports:read', '--scope', 'reports:write'])
  ).json();
  machine = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'Nightly export',
      '--type',
      'machine',
      '--scope',
      'reports:read',
      '--role',
      'reports.reader',
    ])
  ).json();
});

afterAll(async () => {
  await tessera?.dispose();
});

describe('client_credentials', () => {
  it('issues an RFC 9068 JWT access token for a registered API that verifies against /jwks', async () => {
    const config = await discover(machine.client_id, machine.client_secret);
    const tokens = await oidc.clientCredentialsGrant(config, { resource: API, scope: 'reports:read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope).toBe('reports:read');

    const jwks = createRemoteJWKSet(new URL('/jwks', tessera.issuer));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, {
      issuer: tessera.issuer,
      audience: API,
      typ: 'at+jwt',
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({
      sub: machine.client_id,
      client_id: machine.client_id,
      scope: 'reports:read',
      roles: ['reports.reader'],
    });
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000);
    expect(payload.exp).toBeLessThanOrEqual(Date.now() / 1000 + 600 + 5);
  });

  it('introspects its own JWT access tokens as active, and as inactive once the client is gone', async () => {
    const config = await discover(machine.client_id, machine.client_secret);
    const { access_token } = await oidc.clientCredentialsGrant(config, { resource: API });
    const active = await oidc.tokenIntrospection(config, access_token);
    expect(active).toMatchObject({ active: true, client_id: machine.client_id, aud: API, token_type: 'Bearer' });

    const tampered = `${access_token.slice(0, -4)}AAAA`;
    expect((await oidc.tokenIntrospection(config, tampered)).active).toBe(false);

    const doomed = (
      await tessera.cli(['clients', 'create', '--name', 'Doomed', '--type', 'machine', '--api', API])
    ).json<{
      client_id: string;
      client_secret: string;
    }>();
    const doomedConfig = await discover(doomed.client_id, doomed.client_secret);
    const doomedToken = (await oidc.clientCredentialsGrant(doomedConfig, { resource: API })).access_token;
    expect((await oidc.tokenIntrospection(config, doomedToken)).active).toBe(true);
    (await tessera.cli(['clients', 'delete', doomed.client_id])).json();
    await eventually(async () => expect((await oidc.tokenIntrospection(config, doomedToken)).active).toBe(false));
  });

  it('signs access tokens with the ES256 key published in /jwks', async () => {
    const config = await discover(machine.client_id, machine.client_secret);
    const { access_token } = await oidc.clientCredentialsGrant(config, { resource: API });
    const { kid, alg } = decodeProtectedHeader(access_token);
    const { keys } = (await (await fetch(new URL('/jwks', tessera.issuer))).json()) as { keys: { kid: string }[] };
    expect(alg).toBe('ES256');
    expect(keys.map((k) => k.kid)).toContain(kid);
  });
});

describe('client_credentials refusals, as RFC 6749 names them', () => {
  it('answers a wrong secret with invalid_client and 401', async () => {
    const res = await postForm('/token', `grant_type=client_credentials&resource=${encodeURIComponent(API)}`, {
      authorization: basic(machine.client_id, 'not-the-secret'),
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('answers an unknown client with invalid_client', async () => {
    const res = await postForm('/token', 'grant_type=client_credentials', { authorization: basic('nobody', 'x') });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('answers an unregistered resource with invalid_target', async () => {
    const res = await postForm('/token', 'grant_type=client_credentials&resource=https%3A%2F%2Fnot-registered.test', {
      authorization: basic(machine.client_id, machine.client_secret),
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_target');
  });

  it('answers a grant type the client may not use with unauthorized_client', async () => {
    const res = await postForm('/token', 'grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fx.test', {
      authorization: basic(machine.client_id, machine.client_secret),
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unauthorized_client');
  });

  it('answers the password and implicit grants, which are off, as unsupported', async () => {
    const res = await postForm('/token', 'grant_type=password&username=a&password=b', {
      authorization: basic(machine.client_id, machine.client_secret),
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_grant_type');
  });

  it('answers malformed bodies with invalid_request, never a 500', async () => {
    const auth = { authorization: basic(machine.client_id, machine.client_secret) };
    const bodies: [string, Record<string, string>][] = [
      ['', auth],
      ['grant_type=client_credentials&grant_type=client_credentials', auth],
      ['%%%not-urlencoded', auth],
      ['{"grant_type":"client_credentials"}', { ...auth, 'content-type': 'application/json' }],
    ];
    for (const [body, headers] of bodies) {
      const res = await postForm('/token', body, headers);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_request');
    }
  });

  it('answers an oversized body with 413, not a crash', async () => {
    const res = await fetch(new URL('/token', tessera.issuer), {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(machine.client_id, machine.client_secret),
      },
      body: `grant_type=client_credentials&scope=${'a'.repeat(200_000)}`,
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});
