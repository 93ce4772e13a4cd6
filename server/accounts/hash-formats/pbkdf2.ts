import { pbkdf2 } from 'node:crypto';
import { boundedInt, decodeBase64, type HashFormat, sameBytes } from './format.ts';

/**
 * PBKDF2 with HMAC-SHA1/256/512 in the two spellings other systems export:
 * - passlib's `$pbkdf2[-sha256|-sha512]$ROUNDS$SALT$KEY` (adapted base64). Keycloak's credential
 *   objects are converted to this spelling at import (see keycloak-credentials.ts), keeping
 *   Keycloak's 512-bit key: the key length is always the stored key's.
 * - Django's `pbkdf2_sha256$ITERATIONS$SALT$KEY` (and `pbkdf2_sha1`), whose salt is text.
 * Iterations are capped at ten million, so an imported hash cannot make a sign-in take minutes.
 */
type Digest = 'sha1' | 'sha256' | 'sha512';
interface Pbkdf2Hash {
  digest: Digest;
  iterations: number;
  salt: Buffer;
  key: Buffer;
}

const PASSLIB = /^\$pbkdf2(-sha256|-sha512)?\$(\d+)\$([^$]+)\$([^$]+)$/;
const DJANGO = /^pbkdf2_(sha1|sha256)\$(\d+)\$([^$]+)\$([^$]+)$/;
const MAX_ITERATIONS = 10_000_000;

function parsePasslib(hash: string): Pbkdf2Hash | undefined {
  const [, variant, rounds, salt, key] = PASSLIB.exec(hash) ?? [];
  const digest: Digest = variant === '-sha256' ? 'sha256' : variant === '-sha512' ? 'sha512' : 'sha1';
  return checked(digest, rounds, salt ? decodeBase64(salt) : undefined, key);
}

function parseDjango(hash: string): Pbkdf2Hash | undefined {
  const [, digest, iterations, salt, key] = DJANGO.exec(hash) ?? [];
  return checked(digest as Digest, iterations, salt ? Buffer.from(salt, 'utf8') : undefined, key);
}

function checked(digest: Digest, rounds?: string, salt?: Buffer, key?: string): Pbkdf2Hash | undefined {
  const iterations = boundedInt(rounds, 1, MAX_ITERATIONS);
  const bytes = key ? decodeBase64(key) : undefined;
  if (!iterations || !salt || !bytes || bytes.length < 16 || bytes.length > 128) return undefined;
  return { digest, iterations, salt, key: bytes };
}

async function verifyPbkdf2(h: Pbkdf2Hash | undefined, password: string): Promise<boolean> {
  if (!h) return false;
  const derived = await new Promise<Buffer>((resolve, reject) =>
    pbkdf2(password, h.salt, h.iterations, h.key.length, h.digest, (err, key) => (err ? reject(err) : resolve(key))),
  );
  return sameBytes(derived, h.key);
}

export const pbkdf2Format: HashFormat = {
  name: 'pbkdf2',
  parses: (hash) => parsePasslib(hash) !== undefined,
  verify: (hash, password) => verifyPbkdf2(parsePasslib(hash), password),
};

export const djangoPbkdf2Format: HashFormat = {
  name: 'django-pbkdf2',
  parses: (hash) => parseDjango(hash) !== undefined,
  verify: (hash, password) => verifyPbkdf2(parseDjango(hash), password),
};

/** A PBKDF2 hash in passlib's spelling, the form imported PBKDF2 keys are stored in. */
export function passlibPbkdf2(digest: Digest, iterations: number, salt: Buffer, key: Buffer): string {
  const ab64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '').replaceAll('+', '.');
  const ident = digest === 'sha1' ? 'pbkdf2' : `pbkdf2-${digest}`;
  return `$${ident}$${iterations}$${ab64(salt)}$${ab64(key)}`;
}
