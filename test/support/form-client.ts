import * as oidc from 'openid-client';

/**
 * Tessera's pages as a script sees them, without a browser: one cookie jar, GET a page, post its
 * form with the page's CSRF token. For tests that fire many requests, time them, or pin them to
 * one node, where a browser would be too slow; what they assert is still what a person gets.
 * `signInWithForms` is the whole code flow so: openid-client builds the authorization request
 * and redeems the code, as an app would; the forms are filled as a person would.
 */

/** The CSRF token in the forms of a page's HTML. */
export function csrfIn(html: string): string | undefined {
  return /name="csrf" value="([^"]+)"/.exec(html)?.[1];
}

/** One request at a time (redirects not followed), carrying and keeping the jar's cookies. */
export function cookieJar(): (url: string | URL, init?: RequestInit) => Promise<Response> {
  const jar = new Map<string, string>();
  return async (url, init = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; '),
      },
    });
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return res;
  };
}

export interface FormClient {
  /** GETs `url` (redirects followed by hand, cookies kept); resolves with the final response. */
  get(url: string | URL, headers?: Record<string, string>): Promise<Response>;
  /** Posts `fields` to `action` with the CSRF token of the page at `pageUrl`. */
  submit(
    pageUrl: string | URL,
    action: string | URL,
    fields: Record<string, string>,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** Starts a sign-in at the authorization endpoint; resolves with the interaction page's URL. */
  authorize(issuer: string, clientId: string, redirectUri: string, params?: Record<string, string>): Promise<URL>;
}

export function formClient(): FormClient {
  const jarRequest = cookieJar();
  const request = (url: string | URL, init: RequestInit = {}) =>
    jarRequest(url, { ...init, headers: { accept: 'text/html', ...(init.headers as Record<string, string>) } });
  const get = async (url: string | URL, headers: Record<string, string> = {}) => {
    let current = new URL(url);
    for (let hops = 0; hops < 10; hops++) {
      const res = await request(current, { headers });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) return res;
      await res.body?.cancel();
      current = new URL(location, current);
    }
    throw new Error(`too many redirects from ${url}`);
  };

  return {
    get,
    async submit(pageUrl, action, fields, headers = {}) {
      const csrf = csrfIn(await (await get(pageUrl, headers)).text());
      if (!csrf) throw new Error(`no CSRF token on ${pageUrl}`);
      return request(new URL(action, pageUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ ...fields, csrf }).toString(),
      });
    },
    async authorize(issuer, clientId, redirectUri, params = {}) {
      const url = new URL('/auth', issuer);
      url.search = new URLSearchParams({
        client_id: clientId,
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        ...params,
      }).toString();
      const res = await request(url);
      await res.body?.cancel();
      const location = res.headers.get('location');
      if (!location) throw new Error(`the authorization endpoint answered ${res.status} without a redirect`);
      return new URL(location, issuer);
    },
  };
}

/**
 * A sign-in through the forms. `node` sends every request to one node's address while the issuer
 * stays the shared one, as a load balancer would pin it.
 */
export interface FormSignIn {
  redirectUri: string;
  login: string;
  password: string;
  scope?: string;
  /** Sent as X-Forwarded-For (the server must run with TRUST_PROXY): one person's own address. */
  address?: string;
  /** More authorization request parameters (`resource`, …). */
  params?: Record<string, string>;
  /** Push the authorization request first (PAR, RFC 9126) and send only its request_uri. */
  par?: boolean;
}

/** openid-client for `clientId`, each request sent to `node` (default: the issuer itself). */
export function relyingPartyOn(issuer: string, clientId: string, node = issuer, secret?: string) {
  return oidc.discovery(new URL(issuer), clientId, undefined, secret ? oidc.ClientSecretBasic(secret) : oidc.None(), {
    execute: [oidc.allowInsecureRequests],
    [oidc.customFetch]: (url, options) => fetch(onNode(url, issuer, node), options as RequestInit),
  });
}

const onNode = (url: string | URL, issuer: string, node: string) => {
  const u = new URL(url);
  return u.origin === new URL(issuer).origin ? new URL(`${u.pathname}${u.search}`, node) : u;
};

/** A sign-in stopped at the login form, to be submitted later (perhaps to another node). */
export interface PendingSignIn {
  form: string;
  fields: Record<string, string>;
  /** Sends the form to `node`, and the code to the token endpoint `config` reaches. */
  finish(
    config: oidc.Configuration,
    node: string,
  ): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers>;
}

/** Starts the code flow with PKCE at `node` and stops at the login form it shows. */
export async function openLoginForm(config: oidc.Configuration, node: string, s: FormSignIn): Promise<PendingSignIn> {
  const issuer = config.serverMetadata().issuer;
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const parameters = {
    redirect_uri: s.redirectUri,
    scope: s.scope ?? 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    ...s.params,
  };
  const authorization = s.par
    ? await oidc.buildAuthorizationUrlWithPAR(config, parameters)
    : oidc.buildAuthorizationUrl(config, parameters);
  const jarRequest = cookieJar();
  const request = (node: string, url: URL, body?: URLSearchParams) =>
    jarRequest(onNode(url, issuer, node), {
      method: body ? 'POST' : 'GET',
      headers: {
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(s.address ? { 'x-forwarded-for': s.address } : {}),
      },
      ...(body ? { body } : {}),
    });
  // Follows redirects from `url` until a page with a form (answered) or the client's redirect URI.
  const follow = async (node: string, url: URL, body?: URLSearchParams) => {
    let res = await request(node, url, body);
    for (let hops = 0; res.status >= 300 && res.status < 400; hops++) {
      if (hops > 10) throw new Error('too many redirects');
      url = new URL(res.headers.get('location') ?? '', url);
      if (url.href.startsWith(s.redirectUri)) return { url, html: '' };
      res = await request(node, url);
    }
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${url.pathname} answered ${res.status}: ${html.slice(0, 300)}`);
    return { url, html };
  };
  const formIn = (html: string, action: RegExp) => {
    const form = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].find((m) => action.test(m[1] ?? ''));
    const csrf = csrfIn(html);
    if (!form?.[1] || !csrf) throw new Error(`no ${action} form on the page:\n${html.slice(0, 500)}`);
    return { form: form[1], csrf };
  };

  const page = await follow(node, authorization);
  const login = formIn(page.html, /\/login$/);
  const fields = { csrf: login.csrf, login: s.login, password: s.password };
  return {
    form: login.form,
    fields,
    async finish(app, node) {
      let next = await follow(node, new URL(login.form, issuer), new URLSearchParams(fields));
      if (!next.html && !next.url.href.startsWith(s.redirectUri)) throw new Error('lost on the way');
      if (next.html) {
        const consent = formIn(next.html, /\/consent$/);
        next = await follow(node, new URL(consent.form, issuer), new URLSearchParams({ csrf: consent.csrf }));
      }
      if (!next.url.href.startsWith(s.redirectUri))
        throw new Error(`did not reach the client: ${next.html.slice(0, 300)}`);
      return oidc.authorizationCodeGrant(app, next.url, { pkceCodeVerifier: verifier, expectedState: state });
    },
  };
}

/** The whole sign-in at one node; answers the client's tokens. */
export async function signInWithForms(config: oidc.Configuration, node: string, s: FormSignIn) {
  return (await openLoginForm(config, node, s)).finish(config, node);
}
