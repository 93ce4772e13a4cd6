import { availableParallelism } from 'node:os';
import argon2, { type Algorithm, type Version } from '@node-rs/argon2';
import { Semaphore } from 'async-mutex';
import { findHashFormat } from './hash-formats/index.ts';

/**
 * argon2id with OWASP's recommended minimums (19 MiB, 2 passes). `needsRehash` tells a login to
 * store a fresh hash when these parameters change, or when the stored hash is another format
 * (an imported bcrypt, PBKDF2, scrypt or other argon2 hash): the first sign-in with it rehashes.
 * @node-rs/argon2 (RustCrypto's argon2) checks a password at these parameters in about half the
 * time node-argon2 took on the two-core machine of the README's figures (11 against 21 ms): the
 * same work for an attacker, half for us.
 */
// Its enums are ambient const enums, with no values at run time: Argon2id is 2, version 0x13 is 1.
const OPTIONS = {
  algorithm: 2 as Algorithm.Argon2id,
  version: 1 as Version.V0x13,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

/**
 * Hashes and verifications run at most one per core at a time; the rest wait their turn here.
 * Left to libuv's four threads, four 19 MiB argon2 passes at once on two cores took turns with the
 * event loop and PostgreSQL, evicted each other from the caches, and kept token signing (which
 * needs those threads too) waiting: limited to the cores, complete sign-ins per second in the
 * bench rose by about a sixth.
 */
const hashing = new Semaphore(availableParallelism());

/**
 * With WORKERS, that many processes share the cores: each takes its share of the hashing, so the
 * machine still runs one hash per core at most, not one per core in every process. Called at
 * start-up, while nothing hashes: it sets the free places, which a hash in flight would overcount.
 */
export function shareHashingCores(processes: number): void {
  hashing.setValue(Math.max(1, Math.floor(availableParallelism() / processes)));
}

export const hashPassword = (password: string) => hashing.runExclusive(() => argon2.hash(password, OPTIONS));

export function needsRehash(hash: string): boolean {
  if (!hash.startsWith('$argon2id$')) return true;
  try {
    const stored = argon2.parseOptions(hash);
    return Object.entries(OPTIONS).some(([option, value]) => stored[option as keyof typeof OPTIONS] !== value);
  } catch {
    return true;
  }
}

/** Whether `password` matches `hash`, in any format Tessera verifies (see hash-formats/). */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const format = findHashFormat(hash);
  if (!format) return false;
  try {
    return await hashing.runExclusive(() => format.verify(hash, password));
  } catch {
    return false;
  }
}

// Verified against when no account matches, so a login takes as long for an unknown email.
const DUMMY_HASH = await hashPassword('tessera dummy password for timing');

export const burnPasswordCheck = (password: string) => verifyPassword(DUMMY_HASH, password);
