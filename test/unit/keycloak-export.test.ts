import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { verifyPassword } from '../../server/accounts/passwords.ts';
import { matchTotpStep } from '../../server/mfa/totp.ts';
import type { ImportedUser } from '../../server/user-import/imported-user.ts';
import { readKeycloakExport } from '../../server/user-import/keycloak-export.ts';
import { totpCode } from '../support/account.ts';

/**
 * A Keycloak realm export as `kc.sh export` writes it (test/fixtures/imports/generate.py builds
 * it): what each user becomes, and that the credentials converted from Keycloak's objects still
 * take the user's password and TOTP codes.
 */
const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'imports');
const PASSWORD = 'correct horse battery staple';
const UNICODE = 'pässwörd mit Ümläuten ✓';

const source = readKeycloakExport(readFileSync(join(FIXTURES, 'keycloak-realm-export.json'), 'utf8'));
const byEmail = (email: string) => source.users.find((u) => u.email === email) as ImportedUser;

describe('a Keycloak realm export', () => {
  it('gives the people in it, refusing the one without an email and skipping the service account', () => {
    expect(source.users.map((u) => u.email)).toEqual([
      'alice@acme.test',
      'bob@acme.test',
      'carol@acme.test',
      'dave@acme.test',
      'frank@acme.test',
    ]);
    expect(source.invalid).toEqual([
      { user: 5, username: 'erin', error: 'has no email address (Tessera signs people in by email)' },
    ]);
  });

  it("grants realm roles with their composites' roles, less Keycloak's built-ins and client roles", () => {
    expect(byEmail('alice@acme.test').roles).toEqual(['editor', 'manager']);
    expect(byEmail('bob@acme.test').roles).toEqual(['editor']);
    expect(byEmail('carol@acme.test').roles).toEqual([]);
  });

  it('keeps names, verified addresses and disabled state; an email-shaped username is left out', () => {
    expect(byEmail('alice@acme.test')).toMatchObject({ username: 'alice', name: 'Alice Archer', email_verified: true });
    expect(byEmail('bob@acme.test')).toMatchObject({ name: 'Bob', disabled: false });
    expect(byEmail('carol@acme.test')).toMatchObject({ username: null, email_verified: false });
    expect(byEmail('dave@acme.test')).toMatchObject({ disabled: true });
    expect(byEmail('frank@acme.test')).toMatchObject({ password_hash: null, totp_secret: null });
  });

  it.each([
    ['alice@acme.test', 'pbkdf2-sha256, 27,500 rounds', PASSWORD],
    ['bob@acme.test', 'pbkdf2-sha512, 210,000 rounds', UNICODE],
    ['carol@acme.test', 'pbkdf2 (SHA-1), 20,000 rounds', PASSWORD],
    ['dave@acme.test', 'argon2id', PASSWORD],
  ])('%s (%s) signs in with the same password', async (email, _label, password) => {
    const hash = byEmail(email).password_hash as string;
    expect(await verifyPassword(hash, password)).toBe(true);
    expect(await verifyPassword(hash, 'Tr0ub4dor&3')).toBe(false);
  });

  it("takes over a TOTP credential: the codes of Keycloak's secret still match", async () => {
    const secret = byEmail('bob@acme.test').totp_secret as string;
    // Keycloak keeps the secret as text; the app holds base32 of its bytes.
    expect(Buffer.from('Xq3LmZ8vKp2RtY7wNc4B').toString('hex')).toBe('5871334c6d5a38764b703252745937774e633442');
    expect(secret).toBe('LBYTGTDNLI4HMS3QGJJHIWJXO5HGGNCC');
    expect(await matchTotpStep(secret, await totpCode(secret))).toBeDefined();
  });

  it('refuses a file that is not an export, with a clear message', () => {
    expect(() => readKeycloakExport('[1, 2, 3]')).toThrow('not a Keycloak realm export');
    expect(() => readKeycloakExport('{"realm": "acme"')).toThrow('not a Keycloak realm export');
  });
});
