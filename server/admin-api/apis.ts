import { z } from 'zod';
import type { ResourceServerRow } from '../../db/schema.ts';
import {
  apiInput,
  apiPatch,
  createApi,
  deleteApi,
  describeApi,
  listApis,
  requireApi,
  updateApi,
} from '../apis/apis.ts';
import { AppError, conflictOnDuplicate } from '../errors.ts';
import { adminAudience } from './auth.ts';
import { endpoint } from './endpoint.ts';
import { idParam } from './shapes.ts';

/**
 * APIs (resource servers). The admin API's own entry is refused to change and delete: without it
 * no access token could reach this API.
 */
const api = z
  .object({
    id: z.string(),
    audience: z.string(),
    name: z.string().nullable(),
    scopes: z.array(z.string()),
    access_token_ttl: z.number().int(),
    created_at: z.string(),
  })
  .meta({ id: 'Api' });
const tag = 'apis';

function refuseAdminApi(row: ResourceServerRow, issuer: string) {
  if (row.audience === adminAudience(issuer)) {
    throw new AppError('conflict', 'the admin API’s own entry cannot be changed or deleted');
  }
}

export const apiEndpoints = [
  endpoint({
    method: 'get',
    path: '/apis',
    tag,
    summary: 'List APIs',
    response: z.array(api),
    handle: ({ deps }) => listApis(deps.db),
  }),
  endpoint({
    method: 'post',
    path: '/apis',
    tag,
    summary: 'Register an API; its access tokens are JWTs',
    body: apiInput,
    status: 201,
    location: (created) => `/apis/${created.id}`,
    response: api,
    async handle({ body, deps, actor }) {
      const created = await createApi(deps.db, body).catch(
        conflictOnDuplicate(`an API with audience ${body.audience} already exists`),
      );
      await deps.audit({ type: 'api.created', actor, details: { audience: created.audience } });
      return created;
    },
  }),
  endpoint({
    method: 'get',
    path: '/apis/{id}',
    tag,
    summary: 'Get an API',
    params: idParam,
    response: api,
    handle: async ({ params, deps }) => describeApi(await requireApi(deps.db, params.id)),
  }),
  endpoint({
    method: 'patch',
    path: '/apis/{id}',
    tag,
    summary: 'Change an API’s name, scopes or access token lifetime',
    params: idParam,
    body: apiPatch,
    response: api,
    async handle({ params, body, deps, actor }) {
      const before = await requireApi(deps.db, params.id);
      refuseAdminApi(before, deps.issuer);
      const after = await updateApi(deps.db, params.id, body);
      const fields = Object.keys(body) as (keyof typeof body)[];
      await deps.audit({
        type: 'api.updated',
        actor,
        details: {
          audience: before.audience,
          before: Object.fromEntries(fields.map((f) => [f, before[f]])),
          after: Object.fromEntries(fields.map((f) => [f, after[f]])),
        },
      });
      return after;
    },
  }),
  endpoint({
    method: 'delete',
    path: '/apis/{id}',
    tag,
    summary: 'Delete an API',
    params: idParam,
    status: 204,
    async handle({ params, deps, actor }) {
      const found = await requireApi(deps.db, params.id);
      refuseAdminApi(found, deps.issuer);
      await deleteApi(deps.db, found.audience);
      await deps.audit({ type: 'api.deleted', actor, details: { audience: found.audience } });
    },
  }),
];
