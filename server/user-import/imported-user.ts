import { ScureBase32Plugin } from 'otplib';
import { z } from 'zod';
import { findHashFormat, HASH_FORMAT_NAMES } from '../accounts/hash-formats/index.ts';
import { USERNAME_PATTERN } from '../accounts/signup.ts';
import { AppError } from '../errors.ts';
import { roleName } from '../roles/roles.ts';
import { parseInput } from '../validation.ts';

/**
 * One user as an import file describes them, whatever the file's kind (JSON lines, Keycloak),
 * checked against the same rules as an operator-made account. A password hash must be in a
 * format Tessera verifies; a TOTP secret is base32 of at least 80 bits.
 */
export interface ImportedUser {
  /** Where the user is in the file, as messages name it: `{ line: 4 }` or `{ user: 2, username: 'bob' }`. */
  at: Position;
  email: string;
  email_verified: boolean;
  username: string | null;
  name: string | null;
  roles: string[];
  password_hash: string | null;
  totp_secret: string | null;
  /** Imported disabled (a Keycloak user that was); an existing account's state is never changed. */
  disabled: boolean;
}

export type Position = { line: number } | { user: number; username: string };

/** A user the file describes that cannot be imported, and why. */
export type InvalidUser = Position & { error: string };

/** What a file holds: the users to import and the ones refused already while reading it. */
export interface ImportSource {
  users: ImportedUser[];
  invalid: InvalidUser[];
}

const base32 = new ScureBase32Plugin();

const passwordHash = z
  .string()
  .max(1024)
  .refine((hash) => findHashFormat(hash) !== undefined, {
    error: `is not a hash Tessera can verify (accepted: ${HASH_FORMAT_NAMES.join(', ')})`,
  });

const totpSecret = z
  .string()
  .transform((s) => s.replace(/[\s=]+/g, '').toUpperCase())
  .refine((s) => /^[A-Z2-7]{16,128}$/.test(s) && decodes(s), { error: 'must be base32 of at least 80 bits' });

function decodes(secret: string): boolean {
  try {
    base32.decode(secret.padEnd(Math.ceil(secret.length / 8) * 8, '='));
    return true;
  } catch {
    return false;
  }
}

/** One user's fields as the JSON lines format spells them; unknown fields are refused (a typo would pass silently). */
export const importedUserFields = z.strictObject({
  email: z.email({ error: 'must be an email address' }).max(254),
  email_verified: z.boolean().default(false),
  username: z.string().regex(USERNAME_PATTERN, 'must be 2-39 letters, digits or _ . -').nullish(),
  name: z.string().trim().min(1).max(200).nullish(),
  roles: z.array(roleName).max(100).default([]),
  password_hash: passwordHash.nullish(),
  totp_secret: totpSecret.nullish(),
  disabled: z.boolean().default(false),
});

/** The user at `at`, or the reason it is refused. */
export function toImportedUser(at: Position, fields: unknown): ImportedUser | InvalidUser {
  try {
    const u = parseInput(importedUserFields, fields);
    return {
      at,
      email: u.email,
      email_verified: u.email_verified,
      username: u.username ?? null,
      name: u.name ?? null,
      roles: [...new Set(u.roles)].sort(),
      password_hash: u.password_hash ?? null,
      totp_secret: u.totp_secret ?? null,
      disabled: u.disabled,
    };
  } catch (err) {
    if (err instanceof AppError) return { ...at, error: err.message };
    throw err;
  }
}

export const isInvalid = (u: ImportedUser | InvalidUser): u is InvalidUser => 'error' in u;

/** "line 4" or "user 2 (bob)", as messages name a place in the file. */
export const describePosition = (at: Position) =>
  'line' in at ? `line ${at.line}` : `user ${at.user} (${at.username})`;
