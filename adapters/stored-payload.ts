import type { AdapterPayload } from 'oidc-provider';

/** Seals and opens values at rest (the at-rest key from SECRET_KEY). */
export interface Sealer {
  encrypt(plaintext: string): string;
  decrypt(sealed: string): string;
}

/**
 * What of an oidc-provider payload is written to the table, and how it is given back. Rules:
 * - `jti` is the artifact's id (a token, a code, the session cookie): it is dropped, since the
 *   row's key is its hash, and put back from the id that `find` was given;
 * - a DeviceCode is also found by its user code, and the library saves what it found under its
 *   `jti`, so a DeviceCode keeps its `jti` sealed with the at-rest key;
 * - a DeviceCode's `userCode` is a secret the user types: only its hash is kept (the `user_code`
 *   column); `findByUserCode` puts it back, a find by id gives the code without it;
 * - an Interaction's `session.cookie` is the session cookie, which nothing reads back: dropped;
 * - a Client (one that registered itself) keeps its `client_secret` sealed;
 * - an Interaction's `deviceCode` and `parJti` name credentials the library looks up again by
 *   value: sealed. One stored before ids were hashed (no `.`, which ids never contain) is read as
 *   it is; one that no longer opens is dropped.
 */
const SEALED: Record<string, readonly string[]> = {
  DeviceCode: ['jti'],
  Client: ['client_secret'],
  Interaction: ['deviceCode', 'parJti'],
};

export function toStored(type: string, payload: AdapterPayload, sealer: Sealer): Record<string, unknown> {
  const stored: Record<string, unknown> = { ...payload };
  if (!SEALED[type]?.includes('jti')) delete stored.jti;
  if (type === 'DeviceCode') delete stored.userCode;
  if (type === 'Interaction' && isObject(stored.session)) {
    const { cookie: _cookie, ...session } = stored.session;
    stored.session = session;
  }
  for (const field of SEALED[type] ?? []) {
    const value = stored[field];
    if (typeof value === 'string') stored[field] = sealer.encrypt(value);
  }
  return stored;
}

export function fromStored(
  type: string,
  stored: Record<string, unknown>,
  known: { jti?: string; userCode?: string },
  sealer: Sealer,
): AdapterPayload {
  const payload: Record<string, unknown> = { ...stored };
  for (const field of SEALED[type] ?? []) {
    const value = payload[field];
    if (typeof value !== 'string' || !value.includes('.')) continue;
    try {
      payload[field] = sealer.decrypt(value);
    } catch {
      delete payload[field];
    }
  }
  if (known.jti !== undefined) payload.jti = known.jti;
  if (known.userCode !== undefined) payload.userCode = known.userCode;
  return payload as AdapterPayload;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
