import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { findHashFormat } from '../../server/accounts/hash-formats/index.ts';
import { hashPassword, needsRehash, verifyPassword } from '../../server/accounts/passwords.ts';

/**
 * Every password-hash format an import accepts, checked against hashes the format's reference
 * implementation made (Python's bcrypt, argon2-cffi, passlib, Django; see
 * test/fixtures/imports/generate.py): the right password matches, a wrong one does not, and
 * each counts as needing a rehash to Tessera's argon2id.
 */
interface Fixture {
  format: string;
  source: string;
  password: string;
  hash: string;
}
const fixtures = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'imports', 'password-hashes.json'), 'utf8'),
) as { wrong_password: string; hashes: Fixture[] };

const FAMILY: Record<string, string> = {
  bcrypt: 'bcrypt',
  argon2id: 'argon2',
  argon2i: 'argon2',
  argon2d: 'argon2',
  scrypt: 'scrypt',
  'pbkdf2-sha1': 'pbkdf2',
  'pbkdf2-sha256': 'pbkdf2',
  'pbkdf2-sha512': 'pbkdf2',
  'django-pbkdf2-sha256': 'django-pbkdf2',
  'django-pbkdf2-sha1': 'django-pbkdf2',
};

describe('imported password hashes', () => {
  it('cover every format the import accepts', () => {
    expect(new Set(fixtures.hashes.map((f) => f.format))).toEqual(new Set(Object.keys(FAMILY)));
  });

  it.each(fixtures.hashes.map((f) => [`${f.format} from ${f.source}`, f] as const))(
    '%s: the right password matches, a wrong one does not',
    async (_label, f) => {
      expect(findHashFormat(f.hash)?.name).toBe(FAMILY[f.format]);
      expect(await verifyPassword(f.hash, f.password)).toBe(true);
      expect(await verifyPassword(f.hash, fixtures.wrong_password)).toBe(false);
      expect(await verifyPassword(f.hash, `${f.password} `)).toBe(false);
      expect(needsRehash(f.hash)).toBe(true);
    },
  );

  it("keeps Tessera's own argon2id hashes as they are", async () => {
    const hash = await hashPassword('a long and unusual passphrase');
    expect(findHashFormat(hash)?.name).toBe('argon2');
    expect(needsRehash(hash)).toBe(false);
    expect(await verifyPassword(hash, 'a long and unusual passphrase')).toBe(true);
  });

  it('keeps hashes stored by earlier versions, whose parameters are written m, p, t', async () => {
    const hash = (await hashPassword('a long and unusual passphrase')).replace('m=19456,t=2,p=1', 'm=19456,p=1,t=2');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(needsRehash(hash)).toBe(false);
    expect(await verifyPassword(hash, 'a long and unusual passphrase')).toBe(true);
    expect(await verifyPassword(hash, 'a long and unusual passphrasE')).toBe(false);
  });

  it.each([
    ['an MD5 crypt hash', '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/'],
    ['SHA-512 crypt', '$6$rounds=5000$saltsalt$abcdefghijklmnopqrstuvwxyz'],
    ['a bare hex digest', '5f4dcc3b5aa765d61d8327deb882cf99'],
    ['bcrypt at cost 31', `$2b$31$${'a'.repeat(53)}`],
    ['bcrypt cut short', '$2b$10$sEJU0u0hUJ73UrxRnj8bm.6hks.ywyCHjrm'],
    ['argon2 asking for 4 GiB', '$argon2id$v=19$m=4194304,t=2,p=1$f/7ERgqY7HWF/XbVEyALFg$ji7ZbA9RSnGd7d5fHSLy4g'],
    [
      'scrypt asking for 2^24 blocks',
      '$scrypt$ln=24,r=8,p=1$3RtjjBGiFILwfs95712LcQ$1eAWkLiC+6Ry/Od1AO+5EwPeIatwZszJdJBqTWWD5yw',
    ],
    [
      'PBKDF2 with a billion rounds',
      '$pbkdf2-sha256$1000000000$0Vor5byX8p7T.t.7VwphbA$0bOruBlV9OCqxYqCthfgS2kxCeG8PKE8GVS0ceZ2tA4',
    ],
    ['Django PBKDF2 with a key that is not base64', 'pbkdf2_sha256$260000$E4oPmqpNpHEibCKZlFOVQ7$not*base64'],
    ['an empty string', ''],
  ])('refuses %s, which no sign-in could check', async (_label, hash) => {
    expect(findHashFormat(hash)).toBeUndefined();
    expect(await verifyPassword(hash, 'anything at all')).toBe(false);
  });
});
