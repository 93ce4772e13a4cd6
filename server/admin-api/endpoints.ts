import { apiKeyEndpoints } from './api-keys.ts';
import type { Endpoint } from './endpoint.ts';
import { roleEndpoints } from './roles.ts';

/** The whole admin API, group by group. */
export const ADMIN_ENDPOINTS: Endpoint[] = [...roleEndpoints, ...apiKeyEndpoints];
