import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { type Account, Provider } from 'oidc-provider';
import type { ClientWithRoles } from '../../db/repositories/clients.ts';
import type { ClientType, ResourceServerRow } from '../../db/schema.ts';
import { allowedOidcScopes, apiGranted, apiScopesFor, toClientMetadata } from '../../server/clients/clients.ts';
import { oidcConfiguration } from '../../server/oidc/configuration.ts';
import { createSecrets, randomToken, type Secrets } from '../../server/secrets.ts';
import { listenOnLoopback } from './listener.ts';
import { FIXTURE, mintRefreshToken, type Target } from './target.ts';

/**
 * The baseline: oidc-provider alone, told exactly what Tessera tells it (the same
 * oidcConfiguration()), but with its built-in memory adapter instead of Postgres, the fixture
 * held in plain objects, static clients, and none of Tessera's Koa middleware around it. What
 * Tessera looks up in its database, this answers from memory; that difference is the point.
 */
export async function startBare(): Promise<Target> {
  const listener = await listenOnLoopback();
  try {
    const secrets = createSecrets(randomToken(36));
    const fixture = memoryFixture(secrets);
    const provider = new Provider(listener.origin, await bareConfiguration(listener.origin, fixture, secrets));
    listener.serve(provider.callback());
    return {
      label: 'bare oidc-provider',
      origin: listener.origin,
      inProcess: true,
      inPostgres: false,
      machine: { id: fixture.machine.client_id, secret: secrets.decrypt(fixture.machine.secret_encrypted ?? '') },
      web: { id: fixture.web.client_id, secret: secrets.decrypt(fixture.web.secret_encrypted ?? '') },
      mintRefreshToken: () => mintRefreshToken(provider, fixture.web.client_id, fixture.user.id),
      close: () => listener.close(),
    };
  } catch (err) {
    await listener.close();
    throw err;
  }
}

type MemoryFixture = ReturnType<typeof memoryFixture>;

/** The rows Tessera's fixture leaves in its tables, built in memory. */
function memoryFixture(secrets: Secrets) {
  const api: ResourceServerRow = {
    id: randomUUID(),
    audience: FIXTURE.audience,
    name: null,
    scopes: [FIXTURE.apiScope],
    access_token_ttl: 600,
    created_at: new Date(),
  };
  const machine = clientRow(secrets, 'machine', [], [FIXTURE.apiScope], [FIXTURE.machineRole], []);
  const web = clientRow(secrets, 'web', [FIXTURE.webRedirectUri], null, [], [FIXTURE.audience]);
  const user = { id: randomUUID(), email: FIXTURE.userEmail, name: 'Bench User', roles: [FIXTURE.userRole] };
  return { api, machine, web, user, clients: [machine, web] };
}

function clientRow(
  secrets: Secrets,
  type: ClientType,
  redirectUris: string[],
  scopes: string[] | null,
  roles: string[],
  apis: string[],
): ClientWithRoles {
  return {
    client_id: randomToken(16),
    name: `Bench ${type}`,
    type,
    secret_encrypted: secrets.encrypt(randomToken(32)),
    redirect_uris: redirectUris,
    post_logout_redirect_uris: [],
    scopes,
    roles,
    apis,
    require_mfa: false,
    refresh_grace_seconds: 0,
    created_at: new Date(),
    updated_at: new Date(),
    backchannel_logout_uri: null,
    token_endpoint_auth_method: null,
    jwks_uri: null,
    jwks: null,
    require_dpop: false,
    require_par: false,
  };
}

async function bareConfiguration(issuer: string, fixture: MemoryFixture, secrets: Secrets) {
  const clientById = (clientId: string) => fixture.clients.find((c) => c.client_id === clientId);
  // Tessera records each JWT access token's grant for introspection; here the record is a Map.
  const jwtRecords = new Map<string, { grantId: string; clientId: string }>();
  const configuration = oidcConfiguration({
    issuer,
    https: false,
    cookieKeys: secrets.cookieKeys,
    jwks: [await signingKey('RS256'), await signingKey('ES256')],
    // Replaced below: no adapter means oidc-provider's own memory adapter.
    adapter: undefined as never,
    findAccount: async (_ctx, sub) => (sub === fixture.user.id ? account(fixture.user) : undefined),
    findApi: async (audience) => (audience === fixture.api.audience ? fixture.api : undefined),
    grantedApiScopes: async (clientId, api) => {
      const client = clientById(clientId);
      return client && apiGranted(client, api, false) ? apiScopesFor(client, api) : undefined;
    },
    grantedOidcScopes: async (clientId) => {
      const client = clientById(clientId);
      return client ? allowedOidcScopes(client) : [];
    },
    rolesFor: async (_ctx, { accountId, clientId }) =>
      accountId ? (accountId === fixture.user.id ? fixture.user.roles : []) : (clientById(clientId)?.roles ?? []),
    mfaWanted: async () => false,
    recordJwtAccessToken: async (jti, grantId, clientId) => {
      jwtRecords.set(jti, { grantId, clientId });
    },
    pages: {
      error: (ctx, out) => {
        ctx.status = Math.max(ctx.status, 400);
        ctx.body = out;
      },
      logout: (ctx, form) => {
        ctx.body = form;
      },
      loggedOut: (ctx) => {
        ctx.body = 'signed out';
      },
      deviceInput: (ctx) => {
        ctx.body = 'device';
      },
      deviceConfirm: (ctx) => {
        ctx.body = 'device';
      },
      deviceSuccess: (ctx) => {
        ctx.body = 'device';
      },
    },
    fetch: (input, init) => fetch(input, init),
    registration: undefined,
  });
  const { adapter: _none, ...rest } = configuration;
  return { ...rest, clients: fixture.clients.map((row) => toClientMetadata(row, secrets)) };
}

/** The same claims Tessera's accountFinder returns for a user row. */
function account(user: MemoryFixture['user']): Account {
  return {
    accountId: user.id,
    claims: async () => ({
      sub: user.id,
      email: user.email,
      email_verified: true,
      name: user.name,
      preferred_username: undefined,
      roles: user.roles,
    }),
  };
}

/** A private signing JWK like the ones Tessera keeps in its signing_keys table. */
async function signingKey(alg: 'RS256' | 'ES256'): Promise<JWK> {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}
