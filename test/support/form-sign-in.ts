import * as oidc from 'openid-client';

/**
 * A sign-in through Tessera's own forms without a browser: plain HTTP with a cookie jar, for
 * tests that need many sign-ins at once or a particular node. openid-client builds the
 * authorization request and redeems the code, as an app would; the forms are filled as a person
 * would (login, then Allow when asked). `node` sends every request to one node's address while
 * the issuer stays the shared one, as a load balancer would pin it.
 */
export interface FormSignIn {
  redirectUri: string;
  login: string;
  password: string;
  scope?: string;
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
  cookies: Map<string, string>;
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
  const authorization = oidc.buildAuthorizationUrl(config, {
    redirect_uri: s.redirectUri,
    scope: s.scope ?? 'openid profile email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const cookies = new Map<string, string>();
  const request = async (node: string, url: URL, body?: URLSearchParams) => {
    const res = await fetch(onNode(url, issuer, node), {
      method: body ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const at = pair.indexOf('=');
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  };
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
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!form?.[1] || !csrf) throw new Error(`no ${action} form on the page:\n${html.slice(0, 500)}`);
    return { form: form[1], csrf };
  };

  const page = await follow(node, authorization);
  const login = formIn(page.html, /\/login$/);
  const fields = { csrf: login.csrf, login: s.login, password: s.password };
  return {
    form: login.form,
    fields,
    cookies,
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
