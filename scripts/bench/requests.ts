import { createHash, randomBytes } from 'node:crypto';
import { BenchError } from './errors.ts';
import { createHttpClient, type HttpClient } from './http-client.ts';
import type { Step } from './load.ts';

/**
 * What a load worker sends: everything it needs as plain data, since it runs in a worker thread
 * of its own (see load.ts). One plan per scenario and server; one `Step` per connection.
 */
export type LoadPlan = {
  /** The server's name, for error messages. */
  label: string;
  origin: string;
  /** client_secret_basic, computed once. */
  authorization: string;
} & (
  | { grant: 'client_credentials'; body: string }
  | { grant: 'refresh_token'; refreshTokens: string[] }
  | { grant: 'introspection'; tokens: string[] }
  | { grant: 'password_login'; clientId: string; redirectUri: string; people: { login: string; password: string }[] }
);

/** One keep-alive connection per step, through the cheapest client the worker has (http-client.ts). */
export function stepsFor(plan: LoadPlan, concurrency: number): Step[] {
  const client = createHttpClient(plan.origin, concurrency);
  const post = (path: string, body: string) => postForm(plan, client, path, body);
  switch (plan.grant) {
    case 'client_credentials': {
      const step: Step = async () => {
        await postToken(post, plan.label, plan.body);
      };
      return Array.from({ length: concurrency }, () => step);
    }
    case 'refresh_token':
      return plan.refreshTokens.map((first) => {
        // Tokens rotate on every use and a used one revokes the grant: keep the newest one.
        let refreshToken = first;
        return async () => {
          const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString();
          const answer = await postToken(post, plan.label, body);
          if (typeof answer.refresh_token !== 'string') throw new BenchError(`${plan.label}: no rotated refresh_token`);
          refreshToken = answer.refresh_token;
        };
      });
    case 'introspection':
      return plan.tokens.map((token) => async () => {
        const answer = await post('/token/introspection', new URLSearchParams({ token }).toString());
        if (answer.active !== true) throw new BenchError(`${plan.label}: a live refresh token introspected inactive`);
      });
    case 'password_login':
      return plan.people.map((person) => async () => signIn(plan, client, post, person));
  }
}

type Post = (path: string, body: string) => Promise<Record<string, unknown>>;

async function postToken(post: Post, label: string, body: string): Promise<Record<string, unknown>> {
  const answer = await post('/token', body);
  if (typeof answer.access_token !== 'string') throw new BenchError(`${label}: no access_token in the answer`);
  return answer;
}

async function postForm(plan: LoadPlan, client: HttpClient, path: string, body: string) {
  const answer = await client.send(path, {
    method: 'POST',
    headers: { authorization: plan.authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  if (answer.status !== 200) throw new BenchError(`${plan.label}: HTTP ${answer.status} ${answer.text.slice(0, 300)}`);
  return JSON.parse(answer.text) as Record<string, unknown>;
}

/**
 * One whole sign-in as a browser and its app make it: GET /auth, the login page, POST the
 * form (argon2id checks the password), the consent page and its POST, the code at the redirect
 * URI, and the app's POST to /token. A new cookie jar each time: a new browser, a new session.
 */
async function signIn(
  plan: Extract<LoadPlan, { grant: 'password_login' }>,
  client: HttpClient,
  post: Post,
  person: { login: string; password: string },
): Promise<void> {
  const jar = new Map<string, string>();
  const request = async (url: URL, body?: URLSearchParams) => {
    if (url.origin !== plan.origin) throw new BenchError(`${plan.label}: sent away to ${url.origin}`);
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await client.send(`${url.pathname}${url.search}`, {
      method: body ? 'POST' : 'GET',
      headers: {
        accept: 'text/html',
        ...(cookie ? { cookie } : {}),
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body: body.toString() } : {}),
    });
    for (const setCookie of res.setCookies) {
      const [pair = ''] = setCookie.split(';');
      const at = pair.indexOf('=');
      jar.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
    }
    return res;
  };
  // Follows redirects until a page (answered with its HTML) or the app's redirect URI.
  const follow = async (url: URL, body?: URLSearchParams): Promise<{ url: URL; html: string }> => {
    let res = await request(url, body);
    for (let hops = 0; res.status >= 300 && res.status < 400; hops++) {
      url = new URL(res.location ?? '', url);
      if (hops > 10) throw new BenchError(`${plan.label}: too many redirects`);
      if (url.href.startsWith(plan.redirectUri)) return { url, html: '' };
      res = await request(url);
    }
    if (res.status !== 200) throw new BenchError(`${plan.label}: ${url.pathname} answered ${res.status}`);
    return { url, html: res.text };
  };
  const submit = (html: string, action: RegExp, fields: Record<string, string>) => {
    const form = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].find((m) => action.test(m[1] ?? ''));
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    if (!form?.[1] || !csrf) throw new BenchError(`${plan.label}: no ${action} form on the page`);
    return follow(new URL(form[1], plan.origin), new URLSearchParams({ ...fields, csrf }));
  };

  const verifier = randomBytes(32).toString('base64url');
  const authorization = new URL('/auth', plan.origin);
  authorization.search = new URLSearchParams({
    client_id: plan.clientId,
    response_type: 'code',
    redirect_uri: plan.redirectUri,
    scope: 'openid email',
    state: randomBytes(8).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const loginPage = await follow(authorization);
  let next = await submit(loginPage.html, /\/login$/, { login: person.login, password: person.password });
  if (next.html) next = await submit(next.html, /\/consent$/, {});
  const code = next.url.searchParams.get('code');
  if (!code) throw new BenchError(`${plan.label}: the sign-in did not end with a code`);
  const answer = await post(
    '/token',
    new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: plan.redirectUri,
      code_verifier: verifier,
    }).toString(),
  );
  if (typeof answer.id_token !== 'string') throw new BenchError(`${plan.label}: no id_token for the code`);
}
