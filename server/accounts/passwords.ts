import argon2 from 'argon2';

/**
 * argon2id with OWASP's recommended minimums (19 MiB, 2 passes). `needsRehash` tells a login to
 * store a fresh hash when these parameters change.
 */
const OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string) => argon2.hash(password, OPTIONS);

export const needsRehash = (hash: string) => argon2.needsRehash(hash, OPTIONS);

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

// Verified against when no account matches, so a login takes as long for an unknown email.
const DUMMY_HASH = await hashPassword('tessera dummy password for timing');

export const burnPasswordCheck = (password: string) => verifyPassword(DUMMY_HASH, password);
