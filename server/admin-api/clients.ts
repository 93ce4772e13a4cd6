import { z } from 'zod';
import { AUTH_METHODS } from '../clients/client-authentication.ts';
import {
  clientInput,
  clientPatch,
  createClient,
  deleteClient,
  describeClient,
  listClientViews,
  requireClient,
  rotateClientSecret,
  updateClient,
} from '../clients/clients.ts';
import { endpoint } from './endpoint.ts';
import { idParam } from './shapes.ts';

/**
 * OAuth clients, with the same fields and rules as `tessera clients create|update`. Secrets show
 * once. `apis` lists the APIs a client may get tokens for (the admin API only when named there).
 * `device` clients use the device authorization grant (RFC 8628) and are public, like `spa`.
 */
const client = z
  .object({
    client_id: z.string(),
    name: z.string(),
    type: z.enum(['web', 'spa', 'machine', 'device']),
    redirect_uris: z.array(z.string()),
    post_logout_redirect_uris: z.array(z.string()),
    scopes: z.array(z.string()),
    roles: z.array(z.string()),
    /** Audiences of the APIs granted by name; an API one of whose scopes is in `scopes` is granted too. */
    apis: z.array(z.string()),
    require_mfa: z.boolean(),
    created_at: z.string(),
    /** Where logout tokens are posted when a session of this client's user ends (OpenID Connect Back-Channel Logout). */
    backchannel_logout_uri: z.string().nullable(),
    /** Seconds a rotated refresh token presented again answers with its successor instead of revoking; 0: never. */
    refresh_grace_seconds: z.number().int(),
    token_endpoint_auth_method: z.enum(AUTH_METHODS),
    /** A private_key_jwt client's keys: where it publishes them, or the JWK set itself. */
    jwks_uri: z.string().nullable(),
    jwks: z.object({ keys: z.array(z.looseObject({ kty: z.string() })) }).nullable(),
    /** Access tokens only DPoP-bound (RFC 9449). */
    require_dpop: z.boolean(),
    /** Authorization requests only pushed first (RFC 9126). */
    require_par: z.boolean(),
  })
  .meta({ id: 'Client' });
const secret = z.object({ client_id: z.string(), client_secret: z.string() });
const tag = 'clients';

export const clientEndpoints = [
  endpoint({
    method: 'get',
    path: '/clients',
    tag,
    summary: 'List clients (never their secrets)',
    response: z.array(client),
    handle: ({ deps }) => listClientViews(deps.db),
  }),
  endpoint({
    method: 'post',
    path: '/clients',
    tag,
    summary: 'Create a client; a web or machine client’s secret is in this answer only',
    body: clientInput,
    status: 201,
    location: (created) => `/clients/${created.client_id}`,
    response: client.extend({ client_secret: z.string().optional() }),
    async handle({ body, deps, actor }) {
      const created = await createClient(deps.db, deps.secrets, body);
      await deps.audit({
        type: 'client.created',
        actor,
        clientId: created.client_id,
        details: { type: created.type, roles: created.roles, apis: created.apis },
      });
      return created;
    },
  }),
  endpoint({
    method: 'get',
    path: '/clients/{id}',
    tag,
    summary: 'Get a client',
    params: idParam,
    response: client,
    handle: async ({ params, deps }) => describeClient(await requireClient(deps.db, params.id)),
  }),
  endpoint({
    method: 'patch',
    path: '/clients/{id}',
    tag,
    summary:
      'Change a client; a list given replaces the stored one. A client switched to a secret method that had none gets one, in this answer only',
    params: idParam,
    body: clientPatch,
    response: client.extend({ client_secret: z.string().optional() }),
    async handle({ params, body, deps, actor }) {
      const before = describeClient(await requireClient(deps.db, params.id));
      const after = await updateClient(deps.db, deps.secrets, params.id, body);
      const fields = Object.keys(body) as (keyof typeof body)[];
      await deps.audit({
        type: 'client.updated',
        actor,
        clientId: params.id,
        details: {
          before: Object.fromEntries(fields.map((f) => [f, before[f]])),
          after: Object.fromEntries(fields.map((f) => [f, after[f as keyof typeof after]])),
        },
      });
      return after;
    },
  }),
  endpoint({
    method: 'delete',
    path: '/clients/{id}',
    tag,
    summary: 'Delete a client',
    params: idParam,
    status: 204,
    async handle({ params, deps, actor }) {
      await deleteClient(deps.db, params.id);
      await deps.audit({ type: 'client.deleted', actor, clientId: params.id, details: {} });
    },
  }),
  endpoint({
    method: 'post',
    path: '/clients/{id}/rotate-secret',
    tag,
    summary: 'Replace a web or machine client’s secret; the new one is in this answer only',
    params: idParam,
    response: secret,
    async handle({ params, deps, actor }) {
      const rotated = await rotateClientSecret(deps.db, deps.secrets, params.id);
      await deps.audit({ type: 'client.secret_rotated', actor, clientId: params.id, details: {} });
      return rotated;
    },
  }),
];
