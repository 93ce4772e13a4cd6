import { z } from 'zod';
import { apiKeyInput, createApiKey, listApiKeys, revokeApiKey } from '../api-keys/api-keys.ts';
import { endpoint } from './endpoint.ts';
import { idParam } from './shapes.ts';

const apiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string(),
    roles: z.array(z.string()),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    expires_at: z.string().nullable(),
    revoked: z.boolean(),
  })
  .meta({ id: 'ApiKey' });
const tag = 'api-keys';

export const apiKeyEndpoints = [
  endpoint({
    method: 'get',
    path: '/api-keys',
    tag,
    summary: 'List API keys (never their values)',
    response: z.array(apiKey),
    handle: ({ deps }) => listApiKeys(deps.db),
  }),
  endpoint({
    method: 'post',
    path: '/api-keys',
    tag,
    summary: 'Create an API key; its value (tsk_…) is in this answer only',
    body: apiKeyInput,
    status: 201,
    response: apiKey.extend({ key: z.string() }),
    async handle({ body, deps, actor }) {
      const created = await createApiKey(deps.db, body, actor);
      await deps.audit({ type: 'api_key.created', actor, details: { id: created.id, roles: created.roles } });
      return created;
    },
  }),
  endpoint({
    method: 'delete',
    path: '/api-keys/{id}',
    tag,
    summary: 'Revoke an API key; it stops working at once',
    params: idParam,
    response: apiKey,
    async handle({ params, deps, actor }) {
      const revoked = await revokeApiKey(deps.db, params.id);
      await deps.audit({ type: 'api_key.revoked', actor, details: { id: params.id } });
      return revoked;
    },
  }),
];
