import { z } from 'zod';
import { deleteRoleRow, findRoleById, updateRole } from '../../db/repositories/roles.ts';
import { AppError } from '../errors.ts';
import { createRole, listRoles, roleName } from '../roles/roles.ts';
import { ADMIN_ROLE } from './auth.ts';
import { endpoint } from './endpoint.ts';
import { idParam } from './shapes.ts';

const role = z
  .object({ id: z.string(), name: z.string(), description: z.string().nullable(), requires_mfa: z.boolean() })
  .meta({ id: 'Role' });
const tag = 'roles';

async function requireRole(db: Parameters<typeof findRoleById>[0], id: string) {
  const found = await findRoleById(db, id);
  if (!found) throw new AppError('not_found', `role ${id} does not exist`);
  return found;
}

export const roleEndpoints = [
  endpoint({
    method: 'get',
    path: '/roles',
    tag,
    summary: 'List roles',
    response: z.array(role),
    handle: ({ deps }) => listRoles(deps.db),
  }),
  endpoint({
    method: 'post',
    path: '/roles',
    tag,
    summary: 'Create a role',
    body: z.object({
      name: roleName,
      description: z.string().trim().max(500).optional(),
      requires_mfa: z.boolean().optional(),
    }),
    status: 201,
    location: (created) => `/roles/${created.id}`,
    response: role,
    async handle({ body, deps, actor }) {
      const created = await createRole(deps.db, body);
      await deps.audit({ type: 'role.created', actor, details: { role: created.name } });
      return created;
    },
  }),
  endpoint({
    method: 'get',
    path: '/roles/{id}',
    tag,
    summary: 'Get a role',
    params: idParam,
    response: role,
    handle: ({ params, deps }) => requireRole(deps.db, params.id),
  }),
  endpoint({
    method: 'patch',
    path: '/roles/{id}',
    tag,
    summary: 'Change a role’s description, or whether it requires MFA',
    params: idParam,
    body: z.object({
      description: z.string().trim().max(500).nullable().optional(),
      requires_mfa: z.boolean().optional(),
    }),
    response: role,
    async handle({ params, body, deps, actor }) {
      const before = await requireRole(deps.db, params.id);
      await updateRole(deps.db, params.id, body);
      const after = await requireRole(deps.db, params.id);
      await deps.audit({ type: 'role.updated', actor, details: { role: before.name, before, after } });
      return after;
    },
  }),
  endpoint({
    method: 'delete',
    path: '/roles/{id}',
    tag,
    summary: 'Delete a role (users and clients lose it)',
    params: idParam,
    status: 204,
    async handle({ params, deps, actor }) {
      const found = await requireRole(deps.db, params.id);
      if (found.name === ADMIN_ROLE) throw new AppError('conflict', 'the admin role cannot be deleted');
      await deleteRoleRow(deps.db, params.id);
      await deps.audit({ type: 'role.deleted', actor, details: { role: found.name } });
    },
  }),
];
