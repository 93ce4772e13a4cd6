import { z } from 'zod';
import { listSigningKeys } from '../../db/repositories/signing-keys.ts';
import { rotateSigningKeys } from '../keys/signing-keys.ts';
import { endpoint } from './endpoint.ts';

/**
 * The keys tokens are signed with: their public facts (never a private half), and rotation, the
 * same as `tessera keys rotate`: the new keys are published at once and sign after a delay.
 */
const signingKey = z
  .object({
    kid: z.string(),
    alg: z.string(),
    created_at: z.string(),
    activates_at: z.string(),
    retired_at: z.string().nullable(),
  })
  .meta({ id: 'SigningKey' });
const tag = 'signing-keys';

export const signingKeyEndpoints = [
  endpoint({
    method: 'get',
    path: '/signing-keys',
    tag,
    summary: 'List signing keys, newest first (public facts only)',
    response: z.array(signingKey),
    async handle({ deps }) {
      return (await listSigningKeys(deps.db)).map((k) => ({
        kid: k.kid,
        alg: k.alg,
        created_at: k.created_at.toISOString(),
        activates_at: k.activates_at.toISOString(),
        retired_at: k.retired_at?.toISOString() ?? null,
      }));
    },
  }),
  endpoint({
    method: 'post',
    path: '/signing-keys/rotate',
    tag,
    summary: 'Rotate the signing keys: new ones are published now and sign after a short delay',
    response: z.object({ keys: z.array(z.object({ kid: z.string(), alg: z.string(), activates_at: z.string() })) }),
    async handle({ deps, actor }) {
      const keys = await rotateSigningKeys(deps.db, deps.secrets);
      await deps.audit({ type: 'keys.rotated', actor, details: { kids: keys.map((k) => k.kid) } });
      return { keys };
    },
  }),
];
