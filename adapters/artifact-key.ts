import { createHash } from 'node:crypto';

/**
 * The key an artifact is stored under: the SHA-256 of its id, base64url. Ids of codes, tokens and
 * sessions are the credentials themselves (256 random bits, or the session cookie), so a copy of
 * the table (a backup, a replica) must not hold them; a hash still finds the row from the value a
 * client presents. Grant ids and user codes are stored the same way.
 */
export function artifactKey(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}
