import { randomUUID } from 'node:crypto';
import { beforeEach } from '@jest/globals';
import type { AdapterPayload } from 'oidc-provider';
import { artifactKey } from '../../adapters/artifact-key.ts';
import { payloadAdapter } from '../../adapters/oidc-adapter.ts';
import type { Db } from '../../db/database.ts';
import { createSecrets } from '../../server/secrets.ts';
import { migratedDatabasePerFile, TEST_SECRET_KEY } from './database.ts';

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

export type PayloadAdapterClass = ReturnType<typeof payloadAdapter>;

/**
 * The adapter over a migrated database of the calling test file's own, handed to `use` before its
 * tests; every test then starts from an empty oidc_payloads, so it sees only its own rows.
 */
export function adapterPerFile(use: (db: Db, PayloadAdapter: PayloadAdapterClass) => void): void {
  let db: Db | undefined;
  migratedDatabasePerFile((opened) => {
    db = opened;
    use(opened, payloadAdapter(opened, createSecrets(TEST_SECRET_KEY)));
  });
  beforeEach(async () => {
    await db?.deleteFrom('oidc_payloads').execute();
  });
}

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
