import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import {
  type ApiKeyRow,
  findApiKey,
  findApiKeyByHash,
  insertApiKey,
  listApiKeyRows,
  revokeApiKeyRow,
  touchApiKey,
} from '../../db/repositories/api-keys.ts';
import { AppError } from '../errors.ts';
import { existingRoleIds, roleName } from '../roles/roles.ts';
import { randomToken, sha256 } from '../secrets.ts';
import { parseInput } from '../validation.ts';

/**
 * API keys (`tsk_…`) for scripts and services: shown once, stored as a SHA-256 hash (they are long
 * random strings, so a slow hash adds nothing), with roles, an owner and an optional expiry. A
 * revoked or expired key stops working on its next use: nothing about it is cached.
 */
export const API_KEY_PREFIX = 'tsk_';

const DURATION = /^(\d{1,6})([smhd])$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** "90d", "12h", "30m", "3600s" → seconds. */
export function parseDuration(value: string): number | undefined {
  const match = DURATION.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

export const apiKeyInput = z.object({
  name: z.string().trim().min(1, 'is required').max(100),
  roles: z.array(roleName).max(100).default([]),
  expires_in: z
    .string()
    .refine((v) => (parseDuration(v) ?? 0) > 0, 'must be a duration like 30d, 12h, 90m or 3600s')
    .optional(),
});

export interface ApiKeyView {
  id: string;
  name: string;
  owner: string;
  roles: string[];
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked: boolean;
}

export function describeApiKey(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    roles: row.roles,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    expires_at: row.expires_at?.toISOString() ?? null,
    revoked: row.revoked_at !== null,
  };
}

export async function createApiKey(db: Db, input: z.input<typeof apiKeyInput>, owner: string) {
  const k = parseInput(apiKeyInput, input);
  const key = `${API_KEY_PREFIX}${randomToken(32)}`;
  const id = randomUUID();
  const seconds = k.expires_in ? parseDuration(k.expires_in) : undefined;
  await db.transaction().execute(async (trx) => {
    const roleIds = await existingRoleIds(trx, k.roles);
    await insertApiKey(
      trx,
      {
        id,
        name: k.name,
        key_hash: sha256(key),
        owner,
        expires_at: seconds ? new Date(Date.now() + seconds * 1000) : null,
      },
      roleIds,
    );
  });
  const row = await findApiKey(db, id);
  if (!row) throw new Error('API key vanished after insert');
  return { ...describeApiKey(row), key };
}

/** The live key behind a presented value, or undefined (unknown, revoked or expired). */
export async function authenticateApiKey(db: Db, presented: string): Promise<ApiKeyRow | undefined> {
  if (!presented.startsWith(API_KEY_PREFIX) || presented.length > 200) return undefined;
  const row = await findApiKeyByHash(db, sha256(presented));
  if (!row || row.revoked_at || (row.expires_at && row.expires_at.getTime() <= Date.now())) return undefined;
  await touchApiKey(db, row.id);
  return row;
}

export async function listApiKeys(db: Db): Promise<ApiKeyView[]> {
  return (await listApiKeyRows(db)).map(describeApiKey);
}

export async function revokeApiKey(db: Db, id: string): Promise<ApiKeyView> {
  const row = await findApiKey(db, id);
  if (!row) throw new AppError('not_found', `API key ${id} does not exist`);
  await revokeApiKeyRow(db, id);
  return describeApiKey({ ...row, revoked_at: row.revoked_at ?? new Date() });
}
