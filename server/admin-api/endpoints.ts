import { apiKeyEndpoints } from './api-keys.ts';
import { apiEndpoints } from './apis.ts';
import { auditEventEndpoints } from './audit-events.ts';
import { clientEndpoints } from './clients.ts';
import { connectionEndpoints } from './connections.ts';
import type { Endpoint } from './endpoint.ts';
import { roleEndpoints } from './roles.ts';
import { signingKeyEndpoints } from './signing-keys.ts';
import { userFactorEndpoints } from './user-factors.ts';
import { userEndpoints } from './users.ts';

/** The whole admin API, group by group. */
export const ADMIN_ENDPOINTS: Endpoint[] = [
  ...userEndpoints,
  ...userFactorEndpoints,
  ...roleEndpoints,
  ...clientEndpoints,
  ...connectionEndpoints,
  ...apiEndpoints,
  ...apiKeyEndpoints,
  ...auditEventEndpoints,
  ...signingKeyEndpoints,
];
