import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { auditEvents, eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * Dynamic client registration (RFC 7591/7592) with DYNAMIC_REGISTRATION=true, as an app registers
 * itself with openid-client: only with an initial access token an operator made, each good for one
 * client, and never with a destination on a private or loopback address (SSRF).
 */
let tessera: RunningTessera;

beforeAll(async () => {
  tessera = await startTessera({ DYNAMIC_REGISTRATION: 'true' });
});

afterAll(async () => {
  await tessera?.dispose();
});

async function registrationToken(expiresIn?: string): Promise<string> {
  const args = ['registration-tokens', 'create', ...(expiresIn ? ['--expires-in', expiresIn] : [])];
  return (await tessera.cli(args)).json<{ initial_access_token: string }>().initial_access_token;
}

function register(metadata: Partial<oidc.ClientMetadata>, initialAccessToken?: string) {
  return oidc.dynamicClientRegistration(new URL(tessera.issuer), metadata, undefined, {
    execute: [oidc.allowInsecureRequests],
    ...(initialAccessToken ? { initialAccessToken } : {}),
  });
}

/** A 401 whose WWW-Authenticate challenge says `invalid_token` (RFC 6750 §3.1). */
async function expectInvalidToken(registration: Promise<unknown>) {
  const refused = await registration.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(refused).toBeInstanceOf(oidc.WWWAuthenticateChallengeError);
  const { cause, status } = refused as oidc.WWWAuthenticateChallengeError;
  expect(status).toBe(401);
  expect(cause[0]?.parameters.error).toBe('invalid_token');
}

const MACHINE = { client_name: 'Nightly Export', grant_types: ['client_credentials'], response_types: [] };

describe('dynamic client registration', () => {
  it('refuses an ID token algorithm Tessera has no key for, and leaves the token usable', async () => {
    const token = await registrationToken();
    const web = { client_name: 'Picky', redirect_uris: ['https://app.example.com/callback'] };
    for (const alg of ['PS256', 'EdDSA', 'HS256']) {
      await expect(register({ ...web, id_token_signed_response_alg: alg }, token)).rejects.toMatchObject({
        error: 'invalid_client_metadata',
        error_description: expect.stringContaining('id_token_signed_response_alg'),
      });
    }
    const registered = (await register({ ...web, id_token_signed_response_alg: 'ES256' }, token)).clientMetadata();
    expect(registered.id_token_signed_response_alg).toBe('ES256');
  });

  it('registers a client that then gets tokens and manages its registration', async () => {
    const config = await register(MACHINE, await registrationToken());
    const registered = config.clientMetadata();
    expect(registered).toMatchObject({ client_name: 'Nightly Export', client_secret: expect.any(String) });

    // It registered client_secret_basic (the default), which openid-client must be told.
    const client = new oidc.Configuration(
      config.serverMetadata(),
      registered.client_id,
      registered,
      oidc.ClientSecretBasic(String(registered.client_secret)),
    );
    oidc.allowInsecureRequests(client);
    const tokens = await oidc.clientCredentialsGrant(client);
    expect(tokens.access_token).toEqual(expect.any(String));

    // RFC 7592: the client reads its own registration with its registration access token.
    const read = await fetch(String(registered.registration_client_uri), {
      headers: { authorization: `Bearer ${registered.registration_access_token}` },
    });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ client_id: registered.client_id });

    const audited = await eventually(async () => {
      const types = auditEvents(tessera.logs()).filter(
        (e) => e.details?.dynamic || e.type === 'registration_token.used',
      );
      if (types.length < 2) throw new Error('not audited yet');
      return types.map((e) => e.type);
    });
    expect(audited).toEqual(expect.arrayContaining(['client.registered', 'registration_token.used']));
  });

  it('refuses a registration without a token, with one already used, or with one expired', async () => {
    // No token at all: 401 and a challenge, without an error code (RFC 6750 §3.1).
    await expect(register(MACHINE)).rejects.toMatchObject({ status: 401, cause: [{ scheme: 'bearer' }] });
    await expectInvalidToken(register(MACHINE, 'not-a-token'));

    const token = await registrationToken();
    await register(MACHINE, token);
    await expectInvalidToken(register(MACHINE, token));

    const shortLived = await registrationToken('1s');
    // The token's lifetime is counted in whole seconds: wait for it to run out.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    await expectInvalidToken(register(MACHINE, shortLived));
  });

  it('makes tokens only with a lifetime of at most 30 days', async () => {
    for (const lifetime of ['31d', 'forever', '0s']) {
      const refused = await tessera.cli(['registration-tokens', 'create', '--expires-in', lifetime]);
      expect(refused).toMatchObject({ code: 1, stdout: '' });
      expect(refused.stderr).toContain('--expires-in must be a duration like 12h, 7d or 3600s, at most 30d');
    }
    const made = (await tessera.cli(['registration-tokens', 'create', '--expires-in', '30d'])).json();
    expect(made).toMatchObject({ id: expect.any(String), initial_access_token: expect.any(String) });
  });

  it('registers one client of 100 registrations presenting one token at once', async () => {
    const token = await registrationToken();
    const answers = await Promise.all(
      Array.from({ length: 100 }, () =>
        fetch(new URL('/reg', tessera.issuer), {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(MACHINE),
        }),
      ),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(99);
  });

  it('refuses loopback and private destinations, and leaves the token usable', async () => {
    const token = await registrationToken();
    const web = { client_name: 'Sneaky', redirect_uris: ['https://app.example.com/callback'] };
    await expect(register({ ...web, jwks_uri: 'http://127.0.0.1:9/jwks' }, token)).rejects.toMatchObject({
      error: 'invalid_client_metadata',
      error_description: expect.stringContaining('jwks_uri'),
    });
    await expect(register({ ...web, redirect_uris: ['https://localhost/callback'] }, token)).rejects.toMatchObject({
      error: 'invalid_redirect_uri',
      error_description: 'redirect_uris must not point to a private, loopback or local address',
    });
    await expect(
      register({ ...web, backchannel_logout_uri: 'https://[::ffff:10.0.0.7]/logout' }, token),
    ).rejects.toMatchObject({ error: 'invalid_client_metadata' });

    // Codes go to the redirect URI in the browser: never over plain http.
    await expect(register({ ...web, redirect_uris: ['http://app.example.com/callback'] }, token)).rejects.toMatchObject(
      {
        error: 'invalid_redirect_uri',
        error_description: 'redirect_uris must use https',
      },
    );
    await expect(
      register({ ...web, post_logout_redirect_uris: ['http://app.example.com/signed-out'] }, token),
    ).rejects.toMatchObject({ error: 'invalid_client_metadata' });

    const config = await register(web, token);
    const registered = config.clientMetadata();
    // An update (RFC 7592) is held to the same rule.
    const update = await fetch(String(registered.registration_client_uri), {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${registered.registration_access_token}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ ...web, client_id: registered.client_id, jwks_uri: 'http://169.254.169.254/keys' }),
    });
    expect(update.status).toBe(400);
    expect(await update.json()).toMatchObject({ error: 'invalid_client_metadata' });
  });
});
