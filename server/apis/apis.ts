import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import {
  deleteResourceServer,
  findResourceServer,
  findResourceServerById,
  findResourceServersByAudience,
  insertResourceServer,
  listResourceServers,
  updateResourceServer,
} from '../../db/repositories/resource-servers.ts';
import type { ResourceServerRow } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import { OIDC_SCOPES } from '../oidc/scopes.ts';
import { parseInput } from '../validation.ts';

/** APIs (resource servers): an audience URL, its scopes, and how long its JWT access tokens live. */
const apiFields = {
  name: z.string().trim().min(1).max(100),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token without spaces'))
    .max(100)
    .refine((s) => !s.some((x) => OIDC_SCOPES.includes(x)), {
      message: 'must not reuse an OpenID scope (openid, profile, email, roles, offline_access)',
    }),
  access_token_ttl: z.number().int().min(60).max(3600),
};

export const apiInput = z.object({
  audience: z.url({ error: 'must be an absolute URL' }).refine((v) => !URL.parse(v)?.hash, 'must have no #fragment'),
  name: apiFields.name.optional(),
  scopes: apiFields.scopes.default([]),
  access_token_ttl: apiFields.access_token_ttl.default(600),
});

/** What may change of an API; its audience stays, since tokens and clients name it. */
export const apiPatch = z.object({
  name: apiFields.name.nullable().optional(),
  scopes: apiFields.scopes.optional(),
  access_token_ttl: apiFields.access_token_ttl.optional(),
});

export interface ApiView {
  id: string;
  audience: string;
  name: string | null;
  scopes: string[];
  access_token_ttl: number;
  created_at: string;
}

export const describeApi = (row: ResourceServerRow): ApiView => ({
  id: row.id,
  audience: row.audience,
  name: row.name,
  scopes: row.scopes,
  access_token_ttl: row.access_token_ttl,
  created_at: row.created_at.toISOString(),
});

export async function createApi(db: Db, input: z.input<typeof apiInput>): Promise<ApiView> {
  const a = parseInput(apiInput, input);
  if (await findResourceServer(db, a.audience))
    throw new AppError('conflict', `an API with audience ${a.audience} already exists`);
  const row = await insertResourceServer(db, {
    id: randomUUID(),
    audience: a.audience,
    name: a.name ?? null,
    scopes: JSON.stringify([...new Set(a.scopes)]),
    access_token_ttl: a.access_token_ttl,
  });
  return describeApi(row);
}

export async function listApis(db: Db): Promise<ApiView[]> {
  return (await listResourceServers(db)).map(describeApi);
}

export async function requireApi(db: Db, id: string): Promise<ResourceServerRow> {
  const row = await findResourceServerById(db, id);
  if (!row) throw new AppError('not_found', `API ${id} does not exist`);
  return row;
}

export async function updateApi(db: Db, id: string, input: z.input<typeof apiPatch>): Promise<ApiView> {
  const p = parseInput(apiPatch, input);
  const changes = {
    ...(p.name !== undefined ? { name: p.name } : {}),
    ...(p.scopes ? { scopes: JSON.stringify([...new Set(p.scopes)]) } : {}),
    ...(p.access_token_ttl ? { access_token_ttl: p.access_token_ttl } : {}),
  };
  if (Object.keys(changes).length === 0) return describeApi(await requireApi(db, id));
  const row = await updateResourceServer(db, id, changes);
  if (!row) throw new AppError('not_found', `API ${id} does not exist`);
  return describeApi(row);
}

export async function deleteApi(db: Db, audience: string): Promise<void> {
  if (!(await deleteResourceServer(db, audience))) throw new AppError('not_found', `API ${audience} does not exist`);
}

/** Registers an API Tessera itself serves (the admin API), unless it already is. */
export async function ensureApi(db: Db, audience: string, name: string): Promise<void> {
  await db
    .insertInto('resource_servers')
    .values({ id: randomUUID(), audience, name, scopes: '[]' })
    .onConflict((oc) => oc.column('audience').doNothing())
    .execute();
}

/** The ids of the APIs with these audiences; an audience no API has is a 404 naming it. */
export async function existingApiIds(db: Db, audiences: string[]): Promise<string[]> {
  const rows = await findResourceServersByAudience(db, audiences);
  const missing = audiences.find((a) => !rows.some((r) => r.audience === a));
  if (missing) throw new AppError('not_found', `API ${missing} does not exist`);
  return rows.map((r) => r.id);
}
