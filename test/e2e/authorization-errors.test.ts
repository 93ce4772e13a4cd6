import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * What a browser or client gets back for a broken authorization request: a redirect with the
 * OAuth error when the redirect URI can be trusted, Tessera's own error page when it cannot.
 */
const REDIRECT = 'http://127.0.0.1:7778/callback';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

let tessera: RunningTessera;
let spa: { client_id: string };
let web: { client_id: string; client_secret: string };

/** A well-formed spa request; each test changes only what it is about. */
function spaRequest(changes: Record<string, string | undefined> = {}) {
  const params: Record<string, string | undefined> = {
    client_id: spa.client_id,
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...changes,
  };
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

async function authorize(params: Record<string, string>) {
  const url = new URL('/auth', tessera.issuer);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  return fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
}

function redirectedError(res: Response) {
  const location = res.headers.get('location') ?? '';
  expect(location.startsWith(REDIRECT)).toBe(true);
  return new URL(location).searchParams;
}

beforeAll(async () => {
  tessera = await startTessera();
  spa = (await tessera.cli(['clients', 'create', '--name', 'SPA', '--type', 'spa', '--redirect-uri', REDIRECT])).json();
  web = (await tessera.cli(['clients', 'create', '--name', 'Web', '--type', 'web', '--redirect-uri', REDIRECT])).json();
});

afterAll(async () => {
  await tessera?.dispose();
});

describe('the authorization endpoint', () => {
  it('redirects a valid request to the login page', async () => {
    const res = await authorize(spaRequest());
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/interaction\/[\w-]+$/);
  });

  it('carries a NUL character in state through to the login page instead of failing', async () => {
    const res = await authorize(spaRequest({ state: 'a\u0000b' }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/interaction\//);
  });

  it('shows its own error page, without redirecting, for an unknown client', async () => {
    const res = await authorize(spaRequest({ client_id: 'no-such-client' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const page = await res.text();
    expect(page).toContain('client is invalid');
    expect(page).toContain('invalid_client');
    expect(page).not.toMatch(/at \w+ \(|node_modules/);
  });

  it('shows its own error page for a redirect_uri the client did not register', async () => {
    const res = await authorize(spaRequest({ redirect_uri: 'https://attacker.example/callback' }));
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('redirect_uri did not match any of the client&#39;s registered redirect_uris');
  });

  it('refuses a spa request without PKCE', async () => {
    const res = await authorize(spaRequest({ code_challenge: undefined, code_challenge_method: undefined }));
    const params = redirectedError(res);
    expect(params.get('error')).toBe('invalid_request');
    expect(params.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses the plain PKCE method', async () => {
    const res = await authorize(spaRequest({ code_challenge_method: 'plain' }));
    expect(redirectedError(res).get('error')).toBe('invalid_request');
  });

  it('refuses the implicit flow', async () => {
    const res = await authorize(spaRequest({ client_id: web.client_id, response_type: 'id_token token', nonce: 'n' }));
    // Implicit response types answer in the fragment, as OAuth 2.0 Multiple Response Types says.
    const location = new URL(res.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(new URLSearchParams(location.hash.slice(1)).get('error')).toBe('unsupported_response_type');
  });

  it('refuses a resource that is not a registered API', async () => {
    const res = await authorize(spaRequest({ resource: 'https://not-registered.example' }));
    expect(redirectedError(res).get('error')).toBe('invalid_target');
  });
});

describe('the interaction pages', () => {
  it('answer an unknown or expired interaction with a page that says what to do', async () => {
    const res = await fetch(new URL('/interaction/not-a-real-uid', tessera.issuer), {
      headers: { accept: 'text/html' },
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('This sign-in request has expired or was already used');
  });

  it('refuse a login posted from another site (no form token, no interaction cookie)', async () => {
    const res = await fetch(new URL('/interaction/not-a-real-uid/login', tessera.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: 'login=a&password=b',
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'invalid_csrf' });
  });

  it('answer a form body too large with 413', async () => {
    const res = await fetch(new URL('/interaction/x/login', tessera.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `login=${'a'.repeat(100_000)}`,
    });
    expect(res.status).toBe(413);
  });
});

describe('the token endpoint', () => {
  const basic = () => `Basic ${Buffer.from(`${web.client_id}:${web.client_secret}`).toString('base64')}`;

  it('answers an unknown code with invalid_grant', async () => {
    const res = await fetch(new URL('/token', tessera.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic() },
      body: `grant_type=authorization_code&code=made-up&redirect_uri=${encodeURIComponent(REDIRECT)}`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_grant' });
  });

  it('answers introspection without client authentication with invalid_client', async () => {
    const res = await fetch(new URL('/token/introspection', tessera.issuer), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=whatever',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await res.json()).toMatchObject({ error: 'invalid_client' });
  });
});
