import { describe, expect, it } from '@jest/globals';
import type { SigningKeyRow } from '../../db/schema.ts';
import { keySetAt, RETAIN_AFTER_RETIREMENT_MS } from '../../server/keys/signing-keys.ts';
import { createSecrets } from '../../server/secrets.ts';

/** Which keys oidc-provider holds, and which one signs, at each moment of a rotation. */
const secrets = createSecrets('unit-test-secret-key-0123456789abcdef');
const T0 = Date.parse('2026-01-01T00:00:00Z');

function key(kid: string, activatesAt: number, retiredAt: number | null): SigningKeyRow {
  return {
    kid,
    alg: 'ES256',
    public_jwk: { kty: 'EC', kid },
    private_jwk_encrypted: secrets.encrypt(JSON.stringify({ kty: 'EC', kid, d: 'private' })),
    created_at: new Date(activatesAt),
    activates_at: new Date(activatesAt),
    retired_at: retiredAt === null ? null : new Date(retiredAt),
  };
}

const kids = (now: number, rows: SigningKeyRow[]) => keySetAt(rows, secrets, now).keys.map((k) => k.kid);

describe('keySetAt', () => {
  const switchAt = T0 + 60_000;
  const rows = [key('old', T0, switchAt), key('new', switchAt, null)];

  it('publishes a pending key last, so the current key keeps signing', () => {
    expect(kids(switchAt - 1, rows)).toEqual(['old', 'new']);
  });

  it('puts the new key first from its activation on, keeping the old one published', () => {
    expect(kids(switchAt, rows)).toEqual(['new', 'old']);
    expect(kids(switchAt + RETAIN_AFTER_RETIREMENT_MS - 1, rows)).toEqual(['new', 'old']);
  });

  it('drops a retired key once every token it signed has expired', () => {
    expect(kids(switchAt + RETAIN_AFTER_RETIREMENT_MS + 1, rows)).toEqual(['new']);
  });

  it('changes its fingerprint exactly when the signing order or the published set changes', () => {
    const fingerprint = (now: number) => keySetAt(rows, secrets, now).fingerprint;
    expect(fingerprint(switchAt - 2)).toBe(fingerprint(switchAt - 1));
    expect(fingerprint(switchAt)).not.toBe(fingerprint(switchAt - 1));
    expect(fingerprint(switchAt + RETAIN_AFTER_RETIREMENT_MS + 1)).not.toBe(fingerprint(switchAt));
  });

  it('hands oidc-provider the decrypted private keys and /jwks the public ones', () => {
    const set = keySetAt(rows, secrets, switchAt);
    expect(set.keys[0]).toMatchObject({ kid: 'new', d: 'private' });
    expect(set.publicKeys[0]).toEqual({ kty: 'EC', kid: 'new' });
  });
});

describe('secrets', () => {
  it('encrypts with a fresh nonce each time and decrypts only with the same SECRET_KEY', () => {
    const a = secrets.encrypt('client secret');
    expect(a).not.toBe(secrets.encrypt('client secret'));
    expect(a).not.toContain('client secret');
    expect(secrets.decrypt(a)).toBe('client secret');
    expect(() => createSecrets('another-secret-key-0123456789abcdefgh').decrypt(a)).toThrow();
    expect(() => secrets.decrypt(`${a.slice(0, -2)}xx`)).toThrow();
  });
});
