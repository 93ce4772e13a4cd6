import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import {
  deleteSigningKeysRetiredBefore,
  insertSigningKey,
  listSigningKeys,
  retireSigningKeys,
} from '../../db/repositories/signing-keys.ts';
import type { SigningKeyRow } from '../../db/schema.ts';
import type { Secrets } from '../secrets.ts';

/**
 * Signing keys live in the database, private halves encrypted. Rotation is two-phase so no node
 * restarts: a new key is published at once but signs only from `activates_at`, after every node
 * has had time to pick it up; the key it replaces keeps being published until the tokens it
 * signed have expired.
 */
export const ALGORITHMS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof ALGORITHMS)[number];

/**
 * How long a new key is in /jwks before it signs, by default. Resource servers cache /jwks and
 * refetch it at most every so often (jose and express-oauth2-jwt-bearer: 30 s after a miss;
 * many cache for minutes), so a key that signed sooner would make them refuse good tokens.
 * KEY_PUBLISH_DELAY changes it; `keys rotate --now` skips it.
 */
export const PUBLISH_BEFORE_SIGNING_MS = 10 * 60_000;
/** Longer than the longest-lived token a key signs (ID tokens, 1 h; API access tokens, at most 1 h). */
export const RETAIN_AFTER_RETIREMENT_MS = 2 * 3600_000;

// Every key operation takes this lock, so two nodes starting at once make one set of keys.
const KEYS_LOCK = 7_418_201;

async function generateKey(alg: SigningAlg, secrets: Secrets, activatesAt: Date) {
  const { privateKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  return {
    kid,
    alg,
    public_jwk: JSON.stringify({ ...publicJwk, kid, alg, use: 'sig' }),
    private_jwk_encrypted: secrets.encrypt(JSON.stringify({ ...jwk, kid, alg, use: 'sig' })),
    activates_at: activatesAt,
  };
}

/** Makes a signing key for each algorithm that has none in use; safe to call on every start. */
export async function ensureSigningKeys(db: Db, secrets: Secrets): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${KEYS_LOCK})`.execute(trx);
    const live = (await listSigningKeys(trx)).filter((k) => !k.retired_at);
    for (const alg of ALGORITHMS) {
      if (!live.some((k) => k.alg === alg)) await insertSigningKey(trx, await generateKey(alg, secrets, new Date()));
    }
  });
}

/**
 * Adds a new key for each algorithm and retires the current ones when the new ones take over,
 * `publishDelayMs` from now (0: at once, for an emergency such as a leaked key).
 */
export async function rotateSigningKeys(
  db: Db,
  secrets: Secrets,
  { publishDelayMs = PUBLISH_BEFORE_SIGNING_MS, now = new Date() }: { publishDelayMs?: number; now?: Date } = {},
) {
  const activatesAt = new Date(now.getTime() + publishDelayMs);
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${KEYS_LOCK})`.execute(trx);
    await deleteSigningKeysRetiredBefore(trx, new Date(now.getTime() - RETAIN_AFTER_RETIREMENT_MS));
    const created = [];
    for (const alg of ALGORITHMS) {
      await retireSigningKeys(trx, alg, activatesAt);
      const key = await generateKey(alg, secrets, activatesAt);
      await insertSigningKey(trx, key);
      created.push({ kid: key.kid, alg, activates_at: activatesAt.toISOString() });
    }
    return created;
  });
}

export interface KeySet {
  /** Private JWKs, the signing key of each algorithm first. */
  keys: JWK[];
  /** The same keys' public halves, as /jwks serves them. */
  publicKeys: JWK[];
  /** Changes exactly when the published keys or the signing order change. */
  fingerprint: string;
}

/** The keys oidc-provider should hold at `now`: in use first, then retired and pending ones. */
export function keySetAt(rows: SigningKeyRow[], secrets: Secrets, now = Date.now()): KeySet {
  const { ordered, fingerprint } = keyOrderAt(rows, now);
  return {
    keys: ordered.map((k) => JSON.parse(secrets.decrypt(k.private_jwk_encrypted)) as JWK),
    publicKeys: ordered.map((k) => k.public_jwk),
    fingerprint,
  };
}

/** Which keys are published at `now` and in what order, without decrypting any: cheap to ask each second. */
export function keyOrderAt(rows: SigningKeyRow[], now = Date.now()) {
  const published = rows.filter((k) => !k.retired_at || k.retired_at.getTime() + RETAIN_AFTER_RETIREMENT_MS > now);
  const signing = (k: SigningKeyRow) =>
    k.activates_at.getTime() <= now && (!k.retired_at || k.retired_at.getTime() > now);
  const ordered = [...published].sort(
    (a, b) => Number(signing(b)) - Number(signing(a)) || b.activates_at.getTime() - a.activates_at.getTime(),
  );
  return { ordered, fingerprint: ordered.map((k) => `${k.kid}${signing(k) ? '*' : ''}`).join(',') };
}
