import { randomBytes } from 'node:crypto';
import type { JWK } from 'jose';
import type { ClientMetadata } from 'oidc-provider';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import {
  type ClientWithRoles,
  deleteClient as deleteClientRow,
  findClient,
  insertClient,
  listClients,
  listOperatorDestinations,
  setClientApis,
  setClientRoles,
  updateClientRow,
  updateClientSecret,
} from '../../db/repositories/clients.ts';
import type { ClientAuthMethod, ClientType, ResourceServerRow } from '../../db/schema.ts';
import { existingApiIds } from '../apis/apis.ts';
import { AppError } from '../errors.ts';
import { OIDC_SCOPES } from '../oidc/scopes.ts';
import { existingRoleIds, roleName } from '../roles/roles.ts';
import { randomToken, type Secrets } from '../secrets.ts';
import { parseInput } from '../validation.ts';
import {
  AUTH_METHODS,
  authMethodOf,
  authRule,
  defaultAuthMethod,
  jwkSet,
  PUBLIC_TYPES,
  SECRET_METHODS,
} from './client-authentication.ts';

/**
 * Clients as operators describe them (`web`, `spa`, `machine`) and as oidc-provider needs them.
 * web: confidential, code flow. spa: public, code flow, PKCE required by the provider. machine:
 * client_credentials only. device: public, the device authorization grant (RFC 8628) for CLIs
 * and TVs, no redirect URIs. Secrets are generated here, shown once, and kept encrypted.
 * A client gets access tokens only for the APIs it was granted: named with `apis`, or one of whose
 * scopes it holds in `scopes` (see apiGranted).
 * How a client authenticates follows client-authentication.ts; a private_key_jwt client gets no
 * secret. `require_dpop` and `require_par` make DPoP-bound tokens and pushed authorization
 * requests a must.
 */

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

// Zod runs refinements even when z.url() failed, hence URL.parse and the pass on null.
const redirectUri = z.url({ error: 'must be an absolute URL' }).refine((value) => {
  const url = URL.parse(value);
  return !url || (!url.hash && (url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))));
}, 'must be https (or http on localhost) and have no #fragment');

// Logout tokens go where the operator said, over http only where they wrote http.
const backchannelLogoutUri = z.url({ error: 'must be an absolute URL' }).refine((value) => {
  const url = URL.parse(value);
  return !url || (!url.hash && (url.protocol === 'https:' || url.protocol === 'http:'));
}, 'must be http or https and have no #fragment');

const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token without spaces');

/** A grace window is for requests racing each other, not for a token copied away later. */
export const MAX_REFRESH_GRACE_SECONDS = 60;
export const DEFAULT_REFRESH_GRACE_SECONDS = 5;

/** The fields of a client an operator sets, shared by create and update. */
const clientFields = {
  name: z.string().trim().min(1, 'is required').max(100),
  type: z.enum(['web', 'spa', 'machine', 'device'], { error: 'must be web, spa, machine or device' }),
  redirect_uris: z.array(redirectUri).max(20),
  post_logout_redirect_uris: z.array(redirectUri).max(20),
  scopes: z.array(scopeToken).max(100),
  roles: z.array(roleName).max(100),
  /** Audiences of the APIs this client may get access tokens for. */
  apis: z.array(z.url({ error: 'must be the audience URL of a registered API' })).max(100),
  /** Every sign-in to this client needs a second factor. */
  require_mfa: z.boolean(),
  /** Where logout tokens are posted when a session of this client's user ends; null for none. */
  backchannel_logout_uri: backchannelLogoutUri.nullable(),
  /**
   * For how many seconds a rotated refresh token presented again answers with the token it was
   * rotated into (two tabs refreshing at once), instead of revoking the grant; 0 turns it off.
   */
  refresh_grace_seconds: z
    .number({ error: 'must be a whole number of seconds' })
    .int('must be a whole number of seconds')
    .min(0, 'must be 0 or more')
    .max(MAX_REFRESH_GRACE_SECONDS, `must be at most ${MAX_REFRESH_GRACE_SECONDS}`),
  /** How the client authenticates: a secret (Basic or in the body), a signed JWT, or nothing (spa). */
  token_endpoint_auth_method: z.enum(AUTH_METHODS, { error: `must be one of ${AUTH_METHODS.join(', ')}` }),
  /** A private_key_jwt client's keys: where it publishes them, or the set itself. */
  jwks_uri: z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).nullable(),
  jwks: jwkSet.nullable(),
  /** Access tokens only DPoP-bound (RFC 9449). */
  require_dpop: z.boolean(),
  /** Authorization requests only pushed first (RFC 9126). */
  require_par: z.boolean(),
};

type RedirectShape = Pick<ClientView, 'type' | 'redirect_uris' | 'post_logout_redirect_uris'>;

/** Types whose users never come back through a redirect: no redirect URIs at all. */
const NO_REDIRECTS: ReadonlySet<ClientType> = new Set(['machine', 'device']);

/** The rule a client's type sets for its redirect URIs, on create and after every update. */
function redirectRule(c: RedirectShape): string | undefined {
  if (NO_REDIRECTS.has(c.type) && (c.redirect_uris.length || c.post_logout_redirect_uris.length)) {
    return `${c.type} clients have no redirect URIs`;
  }
  if (!NO_REDIRECTS.has(c.type) && c.redirect_uris.length === 0) return `a ${c.type} client needs at least one`;
  return undefined;
}

/** Machine clients have no user, so no session whose end they could be told about. */
function backchannelRule(c: { type: ClientType; backchannel_logout_uri: string | null }): string | undefined {
  return c.type === 'machine' && c.backchannel_logout_uri ? 'machine clients have no user sessions' : undefined;
}

export const clientInput = z
  .object({
    ...clientFields,
    redirect_uris: clientFields.redirect_uris.default([]),
    post_logout_redirect_uris: clientFields.post_logout_redirect_uris.default([]),
    scopes: clientFields.scopes.optional(),
    roles: clientFields.roles.default([]),
    apis: clientFields.apis.default([]),
    require_mfa: clientFields.require_mfa.default(false),
    backchannel_logout_uri: clientFields.backchannel_logout_uri.default(null),
    refresh_grace_seconds: clientFields.refresh_grace_seconds.default(DEFAULT_REFRESH_GRACE_SECONDS),
    token_endpoint_auth_method: clientFields.token_endpoint_auth_method.optional(),
    jwks_uri: clientFields.jwks_uri.default(null),
    jwks: clientFields.jwks.default(null),
    require_dpop: clientFields.require_dpop.default(false),
    require_par: clientFields.require_par.default(false),
  })
  .transform((c) => ({ ...c, token_endpoint_auth_method: c.token_endpoint_auth_method ?? defaultAuthMethod(c.type) }))
  .superRefine((c, ctx) => {
    const broken = redirectRule(c);
    if (broken) ctx.addIssue({ code: 'custom', path: ['redirect_uris'], message: broken });
    const noLogout = backchannelRule(c);
    if (noLogout) ctx.addIssue({ code: 'custom', path: ['backchannel_logout_uri'], message: noLogout });
    const auth = authRule(c);
    if (auth) ctx.addIssue({ code: 'custom', path: [], message: auth });
  });

/** What may change of a client; its type and id stay. */
export const clientPatch = z.object({
  name: clientFields.name.optional(),
  redirect_uris: clientFields.redirect_uris.optional(),
  post_logout_redirect_uris: clientFields.post_logout_redirect_uris.optional(),
  scopes: clientFields.scopes.optional(),
  roles: clientFields.roles.optional(),
  apis: clientFields.apis.optional(),
  require_mfa: clientFields.require_mfa.optional(),
  backchannel_logout_uri: clientFields.backchannel_logout_uri.optional(),
  refresh_grace_seconds: clientFields.refresh_grace_seconds.optional(),
  token_endpoint_auth_method: clientFields.token_endpoint_auth_method.optional(),
  jwks_uri: clientFields.jwks_uri.optional(),
  jwks: clientFields.jwks.optional(),
  require_dpop: clientFields.require_dpop.optional(),
  require_par: clientFields.require_par.optional(),
});

export type ClientInput = z.input<typeof clientInput>;

/** Public clients: they cannot keep a secret, so they get none. */

/** The scopes a web or spa client may ask for when it was created without a list. */
const DEFAULT_USER_SCOPES = OIDC_SCOPES;

export interface ClientView {
  client_id: string;
  name: string;
  type: ClientType;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  scopes: string[];
  roles: string[];
  apis: string[];
  require_mfa: boolean;
  created_at: string;
  backchannel_logout_uri: string | null;
  refresh_grace_seconds: number;
  token_endpoint_auth_method: ClientAuthMethod;
  jwks_uri: string | null;
  jwks: { keys: JWK[] } | null;
  require_dpop: boolean;
  require_par: boolean;
}

export function describeClient(row: ClientWithRoles): ClientView {
  return {
    client_id: row.client_id,
    name: row.name,
    type: row.type,
    redirect_uris: row.redirect_uris,
    post_logout_redirect_uris: row.post_logout_redirect_uris,
    scopes: allowedScopes(row),
    roles: row.roles,
    apis: row.apis,
    require_mfa: row.require_mfa,
    created_at: row.created_at.toISOString(),
    backchannel_logout_uri: row.backchannel_logout_uri,
    refresh_grace_seconds: row.refresh_grace_seconds,
    token_endpoint_auth_method: authMethodOf(row),
    jwks_uri: row.jwks_uri,
    jwks: row.jwks,
    require_dpop: row.require_dpop,
    require_par: row.require_par,
  };
}

export function allowedScopes(row: Pick<ClientWithRoles, 'type' | 'scopes'>): string[] {
  return row.scopes ?? (row.type === 'machine' ? [] : DEFAULT_USER_SCOPES);
}

/** The OpenID scopes (openid, profile, …) this client may receive; others asked for are dropped. */
export function allowedOidcScopes(row: Pick<ClientWithRoles, 'type' | 'scopes'>): string[] {
  return allowedScopes(row).filter((s) => OIDC_SCOPES.includes(s));
}

export async function createClient(
  db: Db,
  secrets: Secrets,
  input: ClientInput,
): Promise<ClientView & { client_secret?: string }> {
  const c = parseInput(clientInput, input);
  // Hex, so an id never starts with '-' and reads as a flag on a command line.
  const clientId = randomBytes(16).toString('hex');
  const secret = SECRET_METHODS.has(c.token_endpoint_auth_method) ? randomToken(32) : undefined;
  await db.transaction().execute(async (trx) => {
    const roleIds = await existingRoleIds(trx, c.roles);
    const apiIds = await existingApiIds(trx, c.apis);
    await insertClient(trx, {
      client_id: clientId,
      name: c.name,
      type: c.type,
      secret_encrypted: secret ? secrets.encrypt(secret) : null,
      redirect_uris: JSON.stringify(c.redirect_uris),
      post_logout_redirect_uris: JSON.stringify(c.post_logout_redirect_uris),
      scopes: JSON.stringify(c.scopes ?? null),
      require_mfa: c.require_mfa,
      backchannel_logout_uri: c.backchannel_logout_uri,
      refresh_grace_seconds: c.refresh_grace_seconds,
      token_endpoint_auth_method: c.token_endpoint_auth_method,
      jwks_uri: c.jwks_uri,
      jwks: c.jwks ? JSON.stringify(c.jwks) : null,
      require_dpop: c.require_dpop,
      require_par: c.require_par,
    });
    await setClientRoles(trx, clientId, roleIds);
    await setClientApis(trx, clientId, apiIds);
  });
  const view = describeClient(await requireClient(db, clientId));
  return secret ? { ...view, client_secret: secret } : view;
}

export async function requireClient(db: Db, clientId: string): Promise<ClientWithRoles> {
  const row = await findClient(db, clientId);
  if (!row) throw new AppError('not_found', `client ${clientId} does not exist`);
  return row;
}

export async function listClientViews(db: Db): Promise<ClientView[]> {
  return (await listClients(db)).map(describeClient);
}

export async function deleteClient(db: Db, clientId: string): Promise<void> {
  if (!(await deleteClientRow(db, clientId))) throw new AppError('not_found', `client ${clientId} does not exist`);
}

/**
 * Changes the given fields; the result must still satisfy the client type's rules. A client
 * switched to a secret method that has no secret yet gets one, in this answer only. Keys left
 * out are kept while the client stays private_key_jwt, and dropped when it leaves it.
 */
export async function updateClient(
  db: Db,
  secrets: Secrets,
  clientId: string,
  input: z.input<typeof clientPatch>,
): Promise<ClientView & { client_secret?: string }> {
  const patch = parseInput(clientPatch, input);
  let secret: string | undefined;
  await db.transaction().execute(async (trx) => {
    const row = await requireClient(trx, clientId);
    const broken = redirectRule({
      type: row.type,
      redirect_uris: patch.redirect_uris ?? row.redirect_uris,
      post_logout_redirect_uris: patch.post_logout_redirect_uris ?? row.post_logout_redirect_uris,
    });
    if (broken) throw new AppError('invalid_input', `redirect_uris: ${broken}`);
    const noLogout = backchannelRule({
      type: row.type,
      backchannel_logout_uri:
        patch.backchannel_logout_uri === undefined ? row.backchannel_logout_uri : patch.backchannel_logout_uri,
    });
    if (noLogout) throw new AppError('invalid_input', `backchannel_logout_uri: ${noLogout}`);
    const method = patch.token_endpoint_auth_method ?? authMethodOf(row);
    const keeps = method === 'private_key_jwt';
    const auth = {
      type: row.type,
      token_endpoint_auth_method: method,
      jwks_uri: patch.jwks_uri !== undefined ? patch.jwks_uri : keeps ? row.jwks_uri : null,
      jwks: patch.jwks !== undefined ? patch.jwks : keeps ? row.jwks : null,
      require_par: patch.require_par ?? row.require_par,
    };
    // Keys given one way replace keys stored the other way.
    if (patch.jwks_uri && patch.jwks === undefined) auth.jwks = null;
    if (patch.jwks && patch.jwks_uri === undefined) auth.jwks_uri = null;
    const authBroken = authRule(auth);
    if (authBroken) throw new AppError('invalid_input', authBroken);
    if (patch.roles) {
      await setClientRoles(trx, clientId, await existingRoleIds(trx, patch.roles));
    }
    if (patch.apis) await setClientApis(trx, clientId, await existingApiIds(trx, patch.apis));
    if (SECRET_METHODS.has(method) && !row.secret_encrypted) {
      secret = randomToken(32);
      await updateClientSecret(trx, clientId, secrets.encrypt(secret));
    }
    await updateClientRow(trx, clientId, {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.redirect_uris ? { redirect_uris: JSON.stringify(patch.redirect_uris) } : {}),
      ...(patch.post_logout_redirect_uris
        ? { post_logout_redirect_uris: JSON.stringify(patch.post_logout_redirect_uris) }
        : {}),
      ...(patch.scopes ? { scopes: JSON.stringify(patch.scopes) } : {}),
      ...(patch.require_mfa !== undefined ? { require_mfa: patch.require_mfa } : {}),
      ...(patch.backchannel_logout_uri !== undefined ? { backchannel_logout_uri: patch.backchannel_logout_uri } : {}),
      ...(patch.refresh_grace_seconds !== undefined ? { refresh_grace_seconds: patch.refresh_grace_seconds } : {}),
      token_endpoint_auth_method: method,
      jwks_uri: auth.jwks_uri,
      jwks: auth.jwks ? JSON.stringify(auth.jwks) : null,
      ...(patch.require_dpop !== undefined ? { require_dpop: patch.require_dpop } : {}),
      ...(patch.require_par !== undefined ? { require_par: patch.require_par } : {}),
    });
  });
  const view = describeClient(await requireClient(db, clientId));
  return secret ? { ...view, client_secret: secret } : view;
}

export async function rotateClientSecret(db: Db, secrets: Secrets, clientId: string) {
  const row = await requireClient(db, clientId);
  if (PUBLIC_TYPES.has(row.type))
    throw new AppError('invalid_input', `${row.type} clients are public and have no secret`);
  if (!SECRET_METHODS.has(authMethodOf(row))) {
    throw new AppError('invalid_input', 'this client authenticates with its keys (private_key_jwt), not a secret');
  }
  const secret = randomToken(32);
  await updateClientSecret(db, clientId, secrets.encrypt(secret));
  return { client_id: clientId, client_secret: secret };
}

/** The metadata oidc-provider validates and serves for a client row. */
export function toClientMetadata(row: ClientWithRoles, secrets: Secrets): ClientMetadata {
  // No `scope`: with one, oidc-provider refuses a request naming any other OpenID scope, where
  // Tessera narrows (RFC 6749 §3.3): consent grants only allowedOidcScopes, and API scopes are
  // narrowed per API by apiScopesFor.
  const method = authMethodOf(row);
  const common = {
    client_id: row.client_id,
    client_name: row.name,
    token_endpoint_auth_method: method,
    ...(SECRET_METHODS.has(method) ? { client_secret: secrets.decrypt(row.secret_encrypted ?? '') } : {}),
    ...(row.jwks_uri ? { jwks_uri: row.jwks_uri } : {}),
    ...(row.jwks ? { jwks: row.jwks as ClientMetadata['jwks'] } : {}),
    dpop_bound_access_tokens: row.require_dpop,
    ...(row.backchannel_logout_uri
      ? { backchannel_logout_uri: row.backchannel_logout_uri, backchannel_logout_session_required: true }
      : {}),
  };
  if (row.type === 'machine') {
    return { ...common, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] };
  }
  if (row.type === 'device') {
    return {
      ...common,
      grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
      response_types: [],
      redirect_uris: [],
    };
  }
  return {
    ...common,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code' as const],
    redirect_uris: row.redirect_uris,
    post_logout_redirect_uris: row.post_logout_redirect_uris,
    require_pushed_authorization_requests: row.require_par,
  };
}

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * Whether a client may get access tokens for `api`: an operator named the API in the client's
 * `apis`, or gave the client one of the API's scopes. `byNameOnly` APIs (the admin API) are
 * granted by name alone, so no scope an operator adds to them later grants them to anyone.
 */
export function apiGranted(
  row: Pick<ClientWithRoles, 'apis' | 'scopes'>,
  api: Pick<ResourceServerRow, 'audience' | 'scopes'>,
  byNameOnly: boolean,
): boolean {
  if (row.apis.includes(api.audience)) return true;
  return !byNameOnly && (row.scopes ?? []).some((s) => api.scopes.includes(s));
}

/**
 * The scopes of `api` a client may receive. Machine clients, and clients created with an
 * explicit --scope list, get only the API scopes they were given; other web and spa clients may
 * ask for any of the API's scopes, and the user's consent decides.
 */
export function apiScopesFor(
  row: Pick<ClientWithRoles, 'type' | 'scopes'>,
  api: Pick<ResourceServerRow, 'scopes'>,
): string[] {
  if (row.scopes === null && row.type !== 'machine') return api.scopes;
  const allowed = new Set(row.scopes ?? []);
  return api.scopes.filter((s) => allowed.has(s));
}

/**
 * Whether an operator registered this URL (as `new URL(u).href`) as a destination of one of their
 * clients: such destinations may be on private networks (see oidc/outgoing-fetch.ts).
 */
export async function isOperatorDestination(db: Db, href: string): Promise<boolean> {
  return (await listOperatorDestinations(db)).some((uri) => URL.parse(uri)?.href === href);
}
