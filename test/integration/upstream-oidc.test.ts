import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generateRandomCodeVerifier, generateRandomNonce, generateRandomState } from 'oauth4webapi';
import { type Upstream, UpstreamError, type UpstreamFlow } from '../../server/federation/upstream.ts';
import { createUpstreamOidc } from '../../server/federation/upstream-oidc.ts';
import { startUpstreamProvider, type UpstreamProvider, type UpstreamUser } from '../fixtures/upstream-provider.ts';

/**
 * The upstream OpenID Connect client on its own against a real OpenID Provider (bare
 * oidc-provider with its own login page, test/fixtures): what it sends, the person it reads, and
 * the UpstreamError reason for each way a sign-in can go wrong, from an ID token with another
 * nonce or a forged signature to a provider that is down. The test plays the browser with fetch.
 */
const REDIRECT_URI = 'http://localhost:3000/connections/abc/callback';
const ADA: UpstreamUser = {
  username: 'ada',
  password: 'ada-upstream-password',
  sub: 'ada-sub-1',
  email: 'Ada@Acme.example',
  email_verified: true,
  name: 'Ada Lovelace',
};

let upstream: UpstreamProvider;
let client: Upstream;

beforeAll(async () => {
  upstream = await startUpstreamProvider();
  upstream.allowRedirectUris([REDIRECT_URI]);
  upstream.addUser(ADA);
  client = clientFor(upstream.issuer);
});

afterEach(() => {
  upstream.behave();
  upstream.proxy.restore();
});

afterAll(() => upstream.close());

function clientFor(issuer: string) {
  return createUpstreamOidc({
    issuer,
    clientId: upstream.clientId,
    clientSecret: upstream.clientSecret,
    scopes: [],
    redirectUri: REDIRECT_URI,
  });
}

const newFlow = (): UpstreamFlow => ({
  state: generateRandomState(),
  codeVerifier: generateRandomCodeVerifier(),
  nonce: generateRandomNonce(),
});

/** Opens the authorization URL and signs `user` in on the provider's page, like a browser; answers the callback's parameters. */
async function throughProvider(user: UpstreamUser, flow: UpstreamFlow, through: Upstream = client) {
  const cookies = new Map<string, string>();
  const go = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { ...init.headers, cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    await res.text();
    return res;
  };
  let res = await go((await through.authorizationUrl(flow)).href);
  const login = new URL(res.headers.get('location') ?? '', upstream.issuer).href;
  expect(login).toContain('/login/');
  expect((await go(login)).status).toBe(200);
  res = await go(login, {
    method: 'POST',
    body: new URLSearchParams({ username: user.username, password: user.password }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  for (let hops = 0; hops < 5; hops++) {
    const location = new URL(res.headers.get('location') ?? '', upstream.issuer);
    if (location.href.startsWith(REDIRECT_URI)) return location.searchParams;
    res = await go(location.href);
  }
  throw new Error('the provider never sent the browser back');
}

async function failure(call: Promise<unknown>): Promise<UpstreamError> {
  try {
    await call;
  } catch (err) {
    expect(err).toBeInstanceOf(UpstreamError);
    return err as UpstreamError;
  }
  throw new Error('expected an UpstreamError, got an identity');
}

describe('a sign-in through an upstream OpenID Provider', () => {
  it('asks with code + PKCE, state and nonce, and reads the verified person from the ID token and userinfo', async () => {
    const flow = newFlow();
    const callback = await throughProvider(ADA, flow);
    const asked = upstream.authorizationRequests.at(-1);
    expect(Object.fromEntries(asked ?? [])).toMatchObject({
      response_type: 'code',
      client_id: upstream.clientId,
      redirect_uri: REDIRECT_URI,
      scope: 'openid email profile',
      state: flow.state,
      nonce: flow.nonce,
      code_challenge_method: 'S256',
    });
    expect(asked?.get('code_challenge')).toMatch(/^[\w-]{43}$/);

    expect(await client.identity(callback, flow)).toEqual({
      subject: 'ada-sub-1',
      email: 'ada@acme.example',
      emailVerified: true,
      name: 'Ada Lovelace',
      username: 'ada',
      amr: ['pwd'],
      acr: undefined,
    });
  });

  it('passes on what the upstream says it checked (amr, acr)', async () => {
    const grace = { username: 'grace', password: 'grace-pw', sub: 'grace-sub', amr: ['pwd', 'otp'], acr: 'mfa' };
    upstream.addUser(grace);
    const flow = newFlow();
    const identity = await client.identity(await throughProvider(grace, flow), flow);
    expect(identity).toMatchObject({ subject: 'grace-sub', email: null, emailVerified: false, amr: ['pwd', 'otp'] });
    expect(identity.acr).toBe('mfa');
  });

  it('refuses an ID token with another nonce, though validly signed', async () => {
    const flow = newFlow();
    const callback = await throughProvider(ADA, flow);
    upstream.misbehave('wrong_nonce');
    const err = await failure(client.identity(callback, flow));
    expect(err.reason).toBe('id_token_invalid');
    expect(err.message).toContain('nonce');
  });

  it('refuses an ID token whose signature is not from a key of the provider’s JWKS', async () => {
    const flow = newFlow();
    const callback = await throughProvider(ADA, flow);
    upstream.misbehave('forged_signature');
    const err = await failure(client.identity(callback, flow));
    expect(err.reason).toBe('id_token_invalid');
    expect(err.message).toContain('signature');
  });

  it('refuses a callback for another state, and a code used twice', async () => {
    const flow = newFlow();
    const callback = await throughProvider(ADA, flow);
    expect((await failure(client.identity(callback, { ...flow, state: generateRandomState() }))).reason).toBe(
      'state_mismatch',
    );
    await client.identity(callback, flow);
    expect((await failure(client.identity(callback, flow))).reason).toBe('code_rejected');
  });

  it('says the provider is unavailable while it is down, and works again once it is back', async () => {
    const flow = newFlow();
    const callback = await throughProvider(ADA, flow);
    upstream.proxy.refuse();
    // A client that never saw the provider cannot even discover it; one that did cannot redeem the code.
    const fresh = clientFor(upstream.issuer);
    expect((await failure(fresh.authorizationUrl(newFlow()))).reason).toBe('unavailable');
    const down = await failure(client.identity(callback, flow));
    expect(down.reason).toBe('unavailable');
    expect(down.message).toMatch(/^token: /);

    upstream.proxy.restore();
    const again = newFlow();
    expect((await fresh.identity(await throughProvider(ADA, again, fresh), again)).subject).toBe('ada-sub-1');
  });

  it('finds no discovery where the issuer is wrong', async () => {
    const wrong = clientFor(`${upstream.issuer}/elsewhere`);
    expect((await failure(wrong.authorizationUrl(newFlow()))).reason).toBe('unavailable');
  });
});
