import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { createUser } from '../support/browser-suite.ts';
import { signInWithForms } from '../support/form-client.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * How clients authenticate, each method driven by openid-client as an app would: a secret in
 * HTTP Basic or in the body, a JWT signed with the client's own key (keys inline, or at a
 * jwks_uri Tessera fetches), and what a client may be required to do beyond that: DPoP-bound
 * tokens and pushed authorization requests. Single-use JWTs stay single use under concurrency.
 */
const API = 'https://api.example.test/auth-methods';
const REDIRECT = 'http://127.0.0.1:9/callback';
const PASSWORD = 'correct horse battery staple';

interface Created {
  client_id: string;
  client_secret?: string;
  token_endpoint_auth_method: string;
}

let tessera: RunningTessera;
let keysServer: Server;
let keysProxy: TcpProxy;
let signingKey: { key: CryptoKey; kid: string };
let publicJwk: JWK;

const client = async (...flags: string[]) => {
  const result = await tessera.cli(['clients', 'create', '--name', 'C', '--api', API, ...flags]);
  return result.json<Created>();
};
const rp = (clientId: string, auth: oidc.ClientAuth) =>
  oidc.discovery(new URL(tessera.issuer), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });
const tokenEndpoint = () => `${tessera.issuer}/token`;

/** What a refused request answered, whichever of openid-client's errors carries it. */
async function refusal(request: Promise<unknown>): Promise<{ status: number; error: string }> {
  const err = (await request.then(
    () => ({ error: 'the request succeeded' }),
    (e: unknown) => e,
  )) as { status?: number; error?: string; cause?: unknown; response?: Response };
  const challenge = Array.isArray(err.cause) ? (err.cause[0] as { parameters?: { error?: string } }) : undefined;
  const body = err.response?.bodyUsed === false ? ((await err.response.json()) as { error?: string }) : {};
  return {
    status: err.status ?? 0,
    error: err.error ?? body.error ?? challenge?.parameters?.error ?? String(err),
  };
}

/** This file's key files (--jwks-file), removed when it ends. */
let keyFiles = '';

beforeAll(async () => {
  keyFiles = await mkdtemp(join(tmpdir(), 'tessera-jwks-'));
  const pair = await generateKeyPair('ES256', { extractable: true });
  publicJwk = { ...(await exportJWK(pair.publicKey)), alg: 'ES256', use: 'sig' };
  publicJwk.kid = await calculateJwkThumbprint(publicJwk);
  signingKey = { key: pair.privateKey, kid: publicJwk.kid };
  // The client's own key server, on loopback as internal services are, behind a proxy the test cuts.
  keysServer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url !== '/huge.json') {
      res.end(JSON.stringify({ keys: [publicJwk] }));
      return;
    }
    // Streamed, with no length to refuse it by up front: 4 MB of keys padded with whitespace.
    res.write(`{"keys":[${JSON.stringify(publicJwk)}]`);
    for (let i = 0; i < 64; i++) res.write(' '.repeat(64 * 1024));
    res.end('}');
  });
  await new Promise<void>((resolve) => keysServer.listen(0, '127.0.0.1', resolve));
  keysProxy = await startTcpProxy({ host: '127.0.0.1', port: (keysServer.address() as AddressInfo).port });
  tessera = await startTessera();
  (await tessera.cli(['apis', 'create', '--audience', API, '--scope', 'things:read'])).json();
  await createUser(tessera, { username: 'ada', password: PASSWORD });
});

afterAll(async () => {
  await tessera?.dispose();
  await keysProxy?.close();
  await new Promise((resolve) => keysServer?.close(resolve));
  if (keyFiles) await rm(keyFiles, { recursive: true, force: true });
});

describe('discovery', () => {
  it('advertises DPoP and pushed authorization requests', async () => {
    const meta = (await (await fetch(`${tessera.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(meta.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256']));
    expect(meta.pushed_authorization_request_endpoint).toBe(`${tessera.issuer}/request`);
  });
});

describe('client secrets', () => {
  it('client_secret_post: the secret in the body works (and in Basic, which the library treats alike)', async () => {
    const c = await client('--type', 'machine', '--auth-method', 'client_secret_post');
    expect(c.token_endpoint_auth_method).toBe('client_secret_post');
    const post = await rp(c.client_id, oidc.ClientSecretPost(c.client_secret ?? ''));
    expect((await oidc.clientCredentialsGrant(post, { resource: API })).access_token).toBeTruthy();
  });

  it('a wrong secret is a 401 invalid_client, and the log says why without the secret', async () => {
    const c = await client('--type', 'machine');
    const wrong = await rp(c.client_id, oidc.ClientSecretBasic('not-the-secret-at-all'));
    expect(await refusal(oidc.clientCredentialsGrant(wrong, { resource: API }))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
    await eventually(async () => expect(tessera.logs()).toContain('invalid secret provided'));
    expect(tessera.logs()).not.toContain('not-the-secret-at-all');
  });
});

describe('private_key_jwt', () => {
  /** A private_key_jwt machine client whose keys are at `path` of its key server, as openid-client signs for it. */
  async function clientWithKeysAt(path: string) {
    const jwksUri = `http://127.0.0.1:${keysProxy.port}${path}`;
    const c = await client('--type', 'machine', '--auth-method', 'private_key_jwt', '--jwks-uri', jwksUri);
    return rp(c.client_id, oidc.PrivateKeyJwt(signingKey));
  }

  it('with inline keys (--jwks-file): signed assertions work, no secret is made, another key is refused', async () => {
    const file = join(keyFiles, 'jwks.json');
    await writeFile(file, JSON.stringify({ keys: [publicJwk] }));
    const c = await client('--type', 'machine', '--auth-method', 'private_key_jwt', '--jwks-file', file);
    expect(c.client_secret).toBeUndefined();
    const config = await rp(c.client_id, oidc.PrivateKeyJwt(signingKey));
    const { access_token } = await oidc.clientCredentialsGrant(config, { resource: API });
    expect(decodeJwt(access_token).client_id).toBe(c.client_id);
    expect((await oidc.tokenIntrospection(config, access_token)).active).toBe(true);

    const other = await generateKeyPair('ES256');
    const impostor = await rp(c.client_id, oidc.PrivateKeyJwt(other.privateKey));
    expect(await refusal(oidc.clientCredentialsGrant(impostor, { resource: API }))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
    const withSecret = await rp(c.client_id, oidc.ClientSecretBasic('a-guessed-secret'));
    expect(await refusal(oidc.clientCredentialsGrant(withSecret, { resource: API }))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
    await eventually(async () =>
      expect(tessera.logs()).toContain('the provided authentication mechanism does not match'),
    );
  });

  it('with a jwks_uri on loopback: a clear invalid_client while it is down, then recovers', async () => {
    const config = await clientWithKeysAt('/jwks.json');
    keysProxy.refuse();
    expect(await refusal(oidc.clientCredentialsGrant(config, { resource: API }))).toEqual({
      status: 401,
      error: 'invalid_client',
    });
    keysProxy.restore();
    expect((await oidc.clientCredentialsGrant(config, { resource: API })).access_token).toBeTruthy();
    expect(tessera.logs()).not.toContain('oidc-provider server error');
  });

  it('gives up on a jwks_uri that does not answer within the timeout: invalid_client, not a hung request', async () => {
    const config = await clientWithKeysAt('/slow.json');
    // Connections kept alive from earlier fetches would skip the delay: drop them first.
    keysProxy.cut();
    keysProxy.delay(15_000);
    const started = Date.now();
    const answer = await refusal(oidc.clientCredentialsGrant(config, { resource: API }));
    keysProxy.delay(0);
    expect(answer).toEqual({ status: 401, error: 'invalid_client' });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses a jwks_uri whose answer is over 64 kB: invalid_client, and the server keeps answering', async () => {
    const config = await clientWithKeysAt('/huge.json');
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => refusal(oidc.clientCredentialsGrant(config, { resource: API }))),
    );
    expect(answers).toEqual(Array(20).fill({ status: 401, error: 'invalid_client' }));
    expect((await fetch(new URL('/healthz', tessera.issuer))).status).toBe(200);
    expect(tessera.logs()).not.toContain('oidc-provider server error');
  });

  it('takes one client assertion once, of a hundred sent at once', async () => {
    const file = join(keyFiles, 'jwks-burst.json');
    await writeFile(file, JSON.stringify({ keys: [publicJwk] }));
    const c = await client('--type', 'machine', '--auth-method', 'private_key_jwt', '--jwks-file', file);
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: signingKey.kid })
      .setIssuer(c.client_id)
      .setSubject(c.client_id)
      .setAudience(tessera.issuer)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(signingKey.key);
    const body = new URLSearchParams({
      grant_type: 'client_credentials',
      resource: API,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    const answers = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await fetch(tokenEndpoint(), { method: 'POST', body });
        return `${res.status} ${((await res.json()) as { error?: string }).error ?? ''}`.trim();
      }),
    );
    expect(answers.filter((a) => a === '200')).toHaveLength(1);
    expect(new Set(answers.filter((a) => a !== '200'))).toEqual(new Set(['401 invalid_client']));
  });
});

describe('DPoP (RFC 9449)', () => {
  it('--require-dpop: a bearer request is refused; a DPoP one gets a token bound to the key (cnf.jkt)', async () => {
    const c = await client('--type', 'machine', '--require-dpop');
    const config = await rp(c.client_id, oidc.ClientSecretBasic(c.client_secret ?? ''));
    await expect(oidc.clientCredentialsGrant(config, { resource: API })).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    await eventually(async () => expect(tessera.logs()).toContain('DPoP proof JWT not provided'));
    const keyPair = await oidc.randomDPoPKeyPair('ES256');
    const tokens = await oidc.clientCredentialsGrant(
      config,
      { resource: API },
      { DPoP: oidc.getDPoPHandle(config, keyPair) },
    );
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    const jkt = await calculateJwkThumbprint(await exportJWK(keyPair.publicKey));
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt });
    expect(await oidc.tokenIntrospection(config, tokens.access_token)).toMatchObject({
      active: true,
      token_type: 'DPoP',
      cnf: { jkt },
    });
  });

  it('takes one DPoP proof once, of a hundred sent at once', async () => {
    const c = await client('--type', 'machine', '--require-dpop');
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const proof = await new SignJWT({ htm: 'POST', htu: tokenEndpoint() })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .sign(privateKey);
    const answers = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const res = await fetch(tokenEndpoint(), {
          method: 'POST',
          headers: { authorization: `Basic ${btoa(`${c.client_id}:${c.client_secret}`)}`, dpop: proof },
          body: new URLSearchParams({ grant_type: 'client_credentials', resource: API }),
        });
        return `${res.status} ${((await res.json()) as { error?: string }).error ?? ''}`.trim();
      }),
    );
    expect(answers.filter((a) => a === '200')).toHaveLength(1);
    expect(new Set(answers.filter((a) => a !== '200'))).toEqual(new Set(['400 invalid_grant']));
  });
});

describe('pushed authorization requests (RFC 9126)', () => {
  it('--require-par: a plain authorization request is refused; a pushed one signs the person in', async () => {
    const c = await client('--type', 'web', '--redirect-uri', REDIRECT, '--require-par');
    const config = await rp(c.client_id, oidc.ClientSecretBasic(c.client_secret ?? ''));
    const plain = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const refused = await fetch(plain, { redirect: 'manual', headers: { accept: 'text/html' } });
    const back = new URL(refused.headers.get('location') ?? '');
    expect(back.href.startsWith(REDIRECT)).toBe(true);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toContain('Pushed Authorization Request must be used');

    const tokens = await signInWithForms(config, tessera.issuer, {
      redirectUri: REDIRECT,
      login: 'ada',
      password: PASSWORD,
      scope: 'openid profile',
      par: true,
    });
    expect(tokens.claims()?.preferred_username).toBe('ada');
  });
});

describe('bad input', () => {
  it('refuses impossible combinations with a clear message and no client', async () => {
    const before = (await tessera.cli(['clients', 'list'])).json<unknown[]>().length;
    const cases: [string[], string][] = [
      [['--type', 'web', '--redirect-uri', REDIRECT, '--auth-method', 'none'], 'must authenticate'],
      [['--type', 'spa', '--redirect-uri', REDIRECT, '--auth-method', 'client_secret_post'], 'public'],
      [['--type', 'machine', '--auth-method', 'private_key_jwt'], 'needs its keys'],
      [['--type', 'machine', '--auth-method', 'client_secret_jwt'], 'must be one of'],
      [['--type', 'machine', '--jwks-uri', 'https://keys.example.test/jwks'], 'keys are for private_key_jwt'],
      [['--type', 'machine', '--auth-method', 'private_key_jwt', '--jwks-uri', 'ftp://x/y'], 'http or https'],
      [['--type', 'machine', '--require-par'], 'machine clients make no authorization requests'],
      [['--type', 'machine', '--auth-method', 'private_key_jwt', '--jwks-file', '/nonexistent.json'], 'cannot read'],
    ];
    for (const [flags, message] of cases) {
      const result = await tessera.cli(['clients', 'create', '--name', 'Bad', ...flags]);
      expect({ flags, code: result.code }).toEqual({ flags, code: 1 });
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain('    at ');
    }
    const file = join(keyFiles, 'jwks-private.json');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    await writeFile(file, JSON.stringify({ keys: [await exportJWK(privateKey)] }));
    const leaked = await tessera.cli([
      'clients',
      'create',
      '--name',
      'Bad',
      '--type',
      'machine',
      '--auth-method',
      'private_key_jwt',
      '--jwks-file',
      file,
    ]);
    expect(leaked.code).toBe(1);
    expect(leaked.stderr).toContain('public keys only');
    expect((await tessera.cli(['clients', 'list'])).json<unknown[]>()).toHaveLength(before);
  });

  it('clients update switches the method: to a secret method it hands out a new secret once', async () => {
    const file = join(keyFiles, 'jwks-update.json');
    await writeFile(file, JSON.stringify({ keys: [publicJwk] }));
    const c = await client('--type', 'machine', '--auth-method', 'private_key_jwt', '--jwks-file', file);
    const updated = (
      await tessera.cli(['clients', 'update', c.client_id, '--auth-method', 'client_secret_basic'])
    ).json<Created & { jwks: unknown }>();
    expect(updated).toMatchObject({ token_endpoint_auth_method: 'client_secret_basic', jwks: null });
    expect(updated.client_secret).toEqual(expect.any(String));
    const config = await rp(c.client_id, oidc.ClientSecretBasic(updated.client_secret ?? ''));
    expect((await oidc.clientCredentialsGrant(config, { resource: API })).access_token).toBeTruthy();
    const again = (await tessera.cli(['clients', 'update', c.client_id, '--require-dpop'])).json<Created>();
    expect(again.client_secret).toBeUndefined();
  });
});
