import { randomUUID } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';
import { artifactKey } from '../../adapters/artifact-key.ts';
import type { Db } from '../../db/database.ts';

/** Every model name oidc-provider 9 stores through the adapter (Client is served from `clients`). */
export const MODELS = [
  'Session',
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'ClientCredentials',
  'InitialAccessToken',
  'RegistrationAccessToken',
  'Interaction',
  'ReplayDetection',
  'PushedAuthorizationRequest',
  'Grant',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
] as const;

export type ModelName = (typeof MODELS)[number];

/** A fresh id, so tests never collide on rows another test left behind. */
export function newId(label = 'id'): string {
  return `${label}-${randomUUID()}`;
}

/**
 * A payload shaped like what oidc-provider stores, plus what the adapter must keep without
 * understanding it: nested objects and arrays, nulls, unicode, and a key no version knows yet.
 */
export function samplePayload(model: string, id: string, overrides: Partial<AdapterPayload> = {}): AdapterPayload {
  return {
    kind: model,
    jti: id,
    iat: 1_700_000_000,
    exp: 1_700_003_600,
    clientId: 'client-1',
    accountId: 'user-1',
    scope: 'openid offline_access',
    extra: {
      nested: { list: [1, 'two', { three: true }, null], empty: {}, nothing: null },
      ratio: 0.25,
    },
    text: 'ünïcødé ✓ "quoted" \\ back\nslash',
    keyFromAFutureOidcProvider: { added: 'later', flags: [true, false] },
    ...overrides,
  } as AdapterPayload;
}

/** Moves a stored row's expiry into the past, as if its lifetime had run out. */
export async function expireRow(db: Db, model: string, id: string, secondsAgo = 60): Promise<void> {
  const result = await db
    .updateTable('oidc_payloads')
    .set({ expires_at: new Date(Date.now() - secondsAgo * 1000) })
    .where('type', '=', model)
    .where('id', '=', artifactKey(id))
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) throw new Error(`expected one ${model} row ${id} to expire`);
}

/** The raw row stored for the artifact `id` (under its hash), or undefined when there is none. */
export function storedRow(db: Db, model: string, id: string) {
  return db
    .selectFrom('oidc_payloads')
    .selectAll()
    .where('type', '=', model)
    .where('id', '=', artifactKey(id))
    .executeTakeFirst();
}

/** How `storedKeys` names the row of the artifact `id`. */
export const keyOf = (model: string, id: string) => `${model}:${artifactKey(id)}`;

/** The keys left in the table, as `Model:key`, sorted. */
export async function storedKeys(db: Db): Promise<string[]> {
  const rows = await db.selectFrom('oidc_payloads').select(['type', 'id']).execute();
  return rows.map((r) => `${r.type}:${r.id}`).sort();
}
