import { z } from 'zod';
import {
  connectionInput,
  connectionPatch,
  createConnection,
  deleteConnection,
  describeConnection,
  listConnectionViews,
  requireConnection,
  updateConnection,
} from '../connections/connections.ts';
import { endpoint } from './endpoint.ts';
import { idParam } from './shapes.ts';

/**
 * Upstream connections, with the same fields and rules as `tessera connections`. The client
 * secret goes in and never comes out; `redirect_uri` is the callback to register at the upstream.
 */
const connection = z
  .object({
    id: z.string(),
    type: z.enum(['oidc', 'github']),
    name: z.string(),
    issuer: z.string().optional(),
    base_url: z.string().optional(),
    api_url: z.string().optional(),
    client_id: z.string(),
    scopes: z.array(z.string()),
    domains: z.array(z.string()),
    trust_upstream_mfa: z.boolean(),
    enabled: z.boolean(),
    source: z.enum(['operator', 'environment']),
    redirect_uri: z.string(),
    created_at: z.string(),
  })
  .meta({ id: 'Connection' });
const tag = 'connections';

export const connectionEndpoints = [
  endpoint({
    method: 'get',
    path: '/connections',
    tag,
    summary: 'List upstream connections (never their secrets)',
    response: z.array(connection),
    handle: ({ deps }) => listConnectionViews(deps.db, deps.issuer),
  }),
  endpoint({
    method: 'post',
    path: '/connections',
    tag,
    summary: 'Connect an upstream OpenID Provider (its issuer must answer discovery) or GitHub',
    body: connectionInput,
    status: 201,
    location: (created) => `/connections/${created.id}`,
    response: connection,
    async handle({ body, deps, actor }) {
      const created = await createConnection(deps.db, deps.secrets, deps.issuer, body);
      await deps.audit({ type: 'connection.created', actor, details: { id: created.id, type: created.type } });
      return created;
    },
  }),
  endpoint({
    method: 'get',
    path: '/connections/{id}',
    tag,
    summary: 'Get an upstream connection',
    params: idParam,
    response: connection,
    handle: async ({ params, deps }) => describeConnection(await requireConnection(deps.db, params.id), deps.issuer),
  }),
  endpoint({
    method: 'patch',
    path: '/connections/{id}',
    tag,
    summary: 'Change an upstream connection; a list given replaces the stored one, `enabled: false` hides its button',
    params: idParam,
    body: connectionPatch,
    response: connection,
    async handle({ params, body, deps, actor }) {
      const { connection, identitiesUnlinked } = await updateConnection(
        deps.db,
        deps.secrets,
        deps.issuer,
        params.id,
        body,
      );
      const details = { id: params.id, fields: Object.keys(body), identities_unlinked: identitiesUnlinked };
      await deps.audit({ type: 'connection.updated', actor, details });
      return connection;
    },
  }),
  endpoint({
    method: 'delete',
    path: '/connections/{id}',
    tag,
    summary: 'Delete an upstream connection and the identities linked through it',
    params: idParam,
    status: 204,
    async handle({ params, deps, actor }) {
      await deleteConnection(deps.db, params.id);
      await deps.audit({ type: 'connection.deleted', actor, details: { id: params.id } });
    },
  }),
];
