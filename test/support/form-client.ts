/**
 * Tessera's pages as a script sees them, without a browser: one cookie jar, GET a page, post its
 * form with the page's CSRF token. For tests that fire many requests or time them, where a
 * browser would be too slow; what they assert is still the status and the text a person gets.
 */
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
  const jar = new Map<string, string>();
  const cookieHeader = () => [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
  const keep = (res: Response) => {
    for (const cookie of res.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
  };
  const request = async (url: string | URL, init: RequestInit = {}) => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: { accept: 'text/html', ...(init.headers as Record<string, string>), cookie: cookieHeader() },
    });
    keep(res);
    return res;
  };
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
      const page = await (await get(pageUrl, headers)).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
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
