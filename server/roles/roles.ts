import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import { findRoleByName, insertRole, listRoleRows } from '../../db/repositories/roles.ts';
import { roleName } from '../clients/clients.ts';
import { AppError } from '../errors.ts';
import { parseInput } from '../validation.ts';

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
