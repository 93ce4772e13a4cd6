import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { relyingParty } from '../support/oidc-flow.ts';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/** What discovery promises relying parties, and which browser origins may call the token endpoint. */
const SPA_ORIGIN = 'https://spa.example.test';

let tessera: RunningTessera;
let spa: { client_id: string };
let web: { client_id: string; client_secret: string };

beforeAll(async () => {
  tessera = await startTessera();
  spa = (
    await tessera.cli(['clients', 'create', '--name', 'S', '--type', 'spa', '--redirect-uri', `${SPA_ORIGIN}/cb`])
  ).json();
  web = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'W',
      '--type',
      'web',
      '--redirect-uri',
      'https://web.example.test/cb',
    ])
  ).json();
});

afterAll(async () => {
  await tessera?.dispose();
});

describe('discovery', () => {
  it('advertises every endpoint at its default path, and only the code flow', async () => {
    const res = await fetch(new URL('/.well-known/openid-configuration', tessera.issuer));
    expect(res.status).toBe(200);
    const d = (await res.json()) as Record<string, unknown>;
    const at = (path: string) => `${tessera.issuer}${path}`;
    expect(d).toMatchObject({
      issuer: tessera.issuer,
      authorization_endpoint: at('/auth'),
      token_endpoint: at('/token'),
      userinfo_endpoint: at('/me'),
      jwks_uri: at('/jwks'),
      introspection_endpoint: at('/token/introspection'),
      revocation_endpoint: at('/token/revocation'),
      end_session_endpoint: at('/session/end'),
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
    });
    expect(d.grant_types_supported).toEqual([
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:device_code',
    ]);
    expect(d).toMatchObject({
      device_authorization_endpoint: at('/device/auth'),
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    });
    // Dynamic client registration is off unless DYNAMIC_REGISTRATION says otherwise.
    expect(d).not.toHaveProperty('registration_endpoint');
    expect((await fetch(at('/reg'), { method: 'POST' })).status).toBe(404);
    expect(d.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'offline_access', 'profile', 'email', 'roles']),
    );
    expect(d.claims_supported).toEqual(
      expect.arrayContaining(['sub', 'email', 'email_verified', 'name', 'preferred_username', 'roles', 'amr']),
    );
    // Only what Tessera has signing keys for (the library leaves out algorithms no key has).
    expect([...(d.id_token_signing_alg_values_supported as string[])].sort()).toEqual(['ES256', 'RS256']);
  });

  // Each secret method and private_key_jwt is driven in client-authentication.test.ts.
  it('advertises only the client authentication methods a client can use, and each one works', async () => {
    const d = (await (await fetch(new URL('/.well-known/openid-configuration', tessera.issuer))).json()) as Record<
      string,
      unknown
    >;
    for (const endpoint of ['token', 'introspection', 'revocation']) {
      expect({ endpoint, methods: d[`${endpoint}_endpoint_auth_methods_supported`] }).toEqual({
        endpoint,
        methods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
      });
    }
    // private_key_jwt with asymmetric keys only: no client signs with its secret (client_secret_jwt).
    expect(d.token_endpoint_auth_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'RS256']));
    expect(String(d.token_endpoint_auth_signing_alg_values_supported)).not.toMatch(/HS/);
    const webClient = await relyingParty(tessera.issuer, web.client_id, web.client_secret);
    const spaClient = await relyingParty(tessera.issuer, spa.client_id);
    await expect(oidc.tokenRevocation(webClient, 'no-such-token')).resolves.toBeUndefined();
    await expect(oidc.tokenRevocation(spaClient, 'no-such-token')).resolves.toBeUndefined();
    expect(await oidc.tokenIntrospection(webClient, 'no-such-token')).toMatchObject({ active: false });
    expect(await oidc.tokenIntrospection(spaClient, 'no-such-token')).toMatchObject({ active: false });
  });

  it('serves the public halves of an RS256 and an ES256 key, never a private part', async () => {
    const { keys } = (await (await fetch(new URL('/jwks', tessera.issuer))).json()) as {
      keys: Record<string, string>[];
    };
    expect(keys.map((k) => k.alg).sort()).toEqual(['ES256', 'RS256']);
    for (const key of keys) {
      expect(key.use).toBe('sig');
      for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
    }
  });
});

describe('CORS on the token endpoint', () => {
  const tokenRequest = (origin: string, clientId: string) =>
    fetch(new URL('/token', tessera.issuer), {
      method: 'POST',
      headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=unknown&client_id=${clientId}`,
    });

  it('lets a spa client’s own origin read the answer', async () => {
    const res = await tokenRequest(SPA_ORIGIN, spa.client_id);
    expect(res.headers.get('access-control-allow-origin')).toBe(SPA_ORIGIN);
  });

  it('does not let another origin, or a web client’s origin, read it', async () => {
    const other = await tokenRequest('https://evil.example', spa.client_id);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const webOrigin = await tokenRequest('https://web.example.test', web.client_id);
    expect(webOrigin.headers.get('access-control-allow-origin')).toBeNull();
  });
});
