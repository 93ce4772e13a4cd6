import { timingSafeEqual } from 'node:crypto';

/**
 * A password-hash format Tessera can verify: its own argon2id, and the formats other systems
 * store, so that users imported with their hashes sign in with the password they have.
 */
export interface HashFormat {
  name: string;
  /** Whether `hash` is a well-formed hash of this format, with parameters Tessera will compute. */
  parses(hash: string): boolean;
  /** Whether `password` matches; only called on a hash that `parses`. */
  verify(hash: string, password: string): Promise<boolean>;
}

/** Standard or passlib's "adapted" base64 (`.` for `+`), padded or not; undefined when it is neither. */
export function decodeBase64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/.]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text.replaceAll('.', '+'), 'base64');
  return bytes.length > 0 ? bytes : undefined;
}

/** A whole number in [min, max] written in decimal, or undefined. */
export function boundedInt(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= min && n <= max ? n : undefined;
}

/** Compares two derived keys in constant time (lengths are public: they come from the stored hash). */
export const sameBytes = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
