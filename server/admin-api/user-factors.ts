import { z } from 'zod';
import { factorsOfUser, removePasskeyOfUser } from '../accounts/user-factors.ts';
import { endpoint } from './endpoint.ts';
import { idParam } from './shapes.ts';

/** How a user signs in, for operators: list their factors, remove a passkey (a lost device). */
const passkey = z
  .object({
    id: z.string(),
    name: z.string(),
    created_at: z.string(),
    last_used_at: z.string().nullable(),
    aaguid: z.string(),
    device_type: z.enum(['singleDevice', 'multiDevice']),
    backed_up: z.boolean(),
    transports: z.array(z.string()),
  })
  .meta({ id: 'Passkey' });
const factors = z
  .object({
    password: z.boolean(),
    totp: z.object({ confirmed_at: z.string() }).nullable(),
    recovery_codes_left: z.number().int(),
    passkeys: z.array(passkey),
  })
  .meta({ id: 'UserFactors' });
const tag = 'users';

export const userFactorEndpoints = [
  endpoint({
    method: 'get',
    path: '/users/{id}/factors',
    tag,
    summary: 'How a user signs in: password, authenticator app, recovery codes left, passkeys',
    params: idParam,
    response: factors,
    handle: ({ params, deps }) => factorsOfUser(deps.db, params.id),
  }),
  endpoint({
    method: 'delete',
    path: '/users/{id}/passkeys/{passkeyId}',
    tag,
    summary: 'Remove one of a user’s passkeys and end their sessions',
    params: idParam.extend({ passkeyId: z.string().min(1).max(200) }),
    status: 204,
    async handle({ params, deps, actor }) {
      const { revoked } = await removePasskeyOfUser(deps.db, params.id, params.passkeyId);
      await deps.audit({
        type: 'passkey.removed',
        actor,
        userId: params.id,
        details: { passkey_id: params.passkeyId, by: 'operator', revoked },
      });
    },
  }),
];
