import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { findRoleByName, insertRole, listRoleRows, resolveRoleNames } from '../../db/repositories/roles.ts';
import { AppError } from '../errors.ts';
import { parseInput } from '../validation.ts';

export const roleName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/, 'must be 1-64 letters, digits or _ . : -');

/** The ids of these roles; a name that is no role is a 404 naming it. */
export async function existingRoleIds(db: Db, names: string[]): Promise<string[]> {
  const roles = await resolveRoleNames(db, names);
  if (roles.missing.length) throw new AppError('not_found', `role ${roles.missing[0]} does not exist`);
  return roles.ids;
}

const roleInput = z.object({
  name: roleName,
  description: z.string().trim().max(500).optional(),
  /** People holding this role must use a second factor to sign in. */
  requires_mfa: z.boolean().default(false),
});

export async function createRole(db: Db, input: z.input<typeof roleInput>) {
  const r = parseInput(roleInput, input);
  if (await findRoleByName(db, r.name)) throw new AppError('conflict', `role ${r.name} already exists`);
  const role = { id: randomUUID(), name: r.name, description: r.description ?? null, requires_mfa: r.requires_mfa };
  await insertRole(db, role);
  return role;
}

export const listRoles = (db: Db) => listRoleRows(db);
