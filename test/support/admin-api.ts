import * as oidc from 'openid-client';
import { relyingParty } from './oidc-flow.ts';
import { type RunningTessera, startTessera } from './tessera.ts';

/**
 * A running Tessera with admin API credentials of every kind: an admin and a non-admin access
 * token (client_credentials for the admin API audience), and an admin API key.
 */
export interface AdminApi {
  tessera: RunningTessera;
  adminToken: string;
  userToken: string;
  adminKey: string;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
}

export interface CallOptions {
  body?: unknown;
  /** Sent as is, instead of `body`. */
  raw?: string;
  /** The body's type; JSON unless said. */
  contentType?: string;
  /** The bearer credential; the admin token unless said; null sends none. */
  as?: string | null;
}

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are inspected field by field.
  body: any;
}

export async function tokenFor(tessera: RunningTessera, roles: string[]): Promise<string> {
  const client = (
    await tessera.cli([
      'clients',
      'create',
      '--name',
      'ops',
      '--type',
      'machine',
      '--api',
      `${tessera.issuer}/api/admin`,
      ...roles.flatMap((r) => ['--role', r]),
    ])
  ).json<{ client_id: string; client_secret: string }>();
  const config = await relyingParty(tessera.issuer, client.client_id, client.client_secret);
  const tokens = await oidc.clientCredentialsGrant(config, { resource: `${tessera.issuer}/api/admin` });
  return tokens.access_token;
}

export async function startAdminApi(env: Record<string, string> = {}): Promise<AdminApi> {
  const tessera = await startTessera(env);
  // One after another: in embedded mode the CLI shares the server's database socket.
  const adminToken = await tokenFor(tessera, ['admin']);
  const userToken = await tokenFor(tessera, []);
  const adminKey = (await tessera.cli(['api-keys', 'create', '--name', 'k', '--role', 'admin'])).json<{ key: string }>()
    .key;
  const call = async (method: string, path: string, options: CallOptions = {}): Promise<Answer> => {
    const as = options.as === undefined ? adminToken : options.as;
    const headers: Record<string, string> = as ? { authorization: `Bearer ${as}` } : {};
    let body: string | undefined;
    if (options.raw !== undefined || options.body !== undefined) {
      headers['content-type'] = options.contentType ?? 'application/json';
      body = options.raw ?? JSON.stringify(options.body);
    }
    const res = await fetch(new URL(path, tessera.issuer), { method: method.toUpperCase(), headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {}
    return { status: res.status, headers: res.headers, body: parsed };
  };
  return { tessera, adminToken, userToken, adminKey, call };
}
