import { randomUUID } from 'node:crypto';
import type { Provider } from 'oidc-provider';

/**
 * What both servers under test hold, so the two answer the same requests with the same work:
 * one API, a machine client that may get its `read` scope, a web client, and a user who signed
 * in with a password and was granted `userScope` and the API's `read` scope.
 */
export const FIXTURE = {
  audience: 'https://api.bench.example/',
  apiScope: 'read',
  /** What a web client typically asks for at login; email and roles put claims in the ID token. */
  userScope: 'openid email roles offline_access',
  machineRole: 'bench.service',
  userRole: 'bench.user',
  userEmail: 'bench.user@example.com',
  webRedirectUri: 'http://127.0.0.1/callback',
} as const;

export interface ClientCredentials {
  readonly id: string;
  readonly secret: string;
}

/** A running server under test. */
export interface Target {
  readonly label: string;
  /** Its issuer, where `/token` is. */
  readonly origin: string;
  readonly machine: ClientCredentials;
  readonly web: ClientCredentials;
  /** A fresh grant for the fixture user and a refresh token for it, as a finished code flow leaves them. */
  mintRefreshToken(): Promise<string>;
  /** People who sign in with a password through the pages, one per connection (Tessera only). */
  readonly people?: { login: string; password: string }[];
  /** Whether the server runs on this process's event loop, whose delay the bench then measures. */
  readonly inProcess: boolean;
  /** Whether it keeps its state in PostgreSQL, whose CPU time the bench then reports. */
  readonly inPostgres: boolean;
  /** For a server in processes of its own: the CPU time they have used so far, in milliseconds. */
  cpuMs?(): Promise<number>;
  close(): Promise<void>;
}

/**
 * Writes a Grant and a RefreshToken through the provider's own models, so they land in whatever
 * storage it has (Postgres or memory) exactly as the authorization_code grant would write them
 * after a login with consent; a browser login per worker would only slow the setup down.
 */
export async function mintRefreshToken(provider: Provider, clientId: string, accountId: string): Promise<string> {
  const client = await provider.Client.find(clientId);
  if (!client) throw new Error(`client ${clientId} is unknown to the provider`);
  const grant = new provider.Grant({ accountId, clientId });
  grant.addOIDCScope(FIXTURE.userScope);
  grant.addResourceScope(FIXTURE.audience, FIXTURE.apiScope);
  const grantId = await grant.save();
  const refreshToken = new provider.RefreshToken({
    client,
    accountId,
    grantId,
    gty: 'authorization_code',
    scope: `${FIXTURE.userScope} ${FIXTURE.apiScope}`,
    resource: FIXTURE.audience,
    authTime: Math.floor(Date.now() / 1000),
    amr: ['pwd'],
    sessionUid: randomUUID(),
    // offline_access: the token outlives the browser session, as the library decides by default.
    expiresWithSession: false,
    rotations: 0,
  });
  return refreshToken.save();
}
