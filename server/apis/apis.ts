import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../../db/database.ts';
import {
  deleteResourceServer,
  insertResourceServer,
  listResourceServers,
} from '../../db/repositories/resource-servers.ts';
import type { ResourceServerRow } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import { OIDC_SCOPES } from '../oidc/scopes.ts';
import { parseInput } from '../validation.ts';

/** APIs (resource servers): an audience URL, its scopes, and how long its JWT access tokens live. */
const apiInput = z.object({
  audience: z.url({ error: 'must be an absolute URL' }).refine((v) => !URL.parse(v)?.hash, 'must have no #fragment'),
  name: z.string().trim().min(1).max(100).optional(),
  scopes: z
    .array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token without spaces'))
    .max(100)
    .default([])
    .refine((s) => !s.some((x) => OIDC_SCOPES.includes(x)), {
      message: 'must not reuse an OpenID scope (openid, profile, email, roles, offline_access)',
    }),
  access_token_ttl: z.number().int().min(60).max(3600).default(600),
});

export interface ApiView {
  id: string;
  audience: string;
  name: string | null;
  scopes: string[];
  access_token_ttl: number;
  created_at: string;
}

const describeApi = (row: ResourceServerRow): ApiView => ({
  id: row.id,
  audience: row.audience,
  name: row.name,
  scopes: row.scopes,
  access_token_ttl: row.access_token_ttl,
  created_at: row.created_at.toISOString(),
});

export async function createApi(db: Db, input: z.input<typeof apiInput>): Promise<ApiView> {
  const a = parseInput(apiInput, input);
  const taken = (await listResourceServers(db)).some((r) => r.audience === a.audience);
  if (taken) throw new AppError('conflict', `an API with audience ${a.audience} already exists`);
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
