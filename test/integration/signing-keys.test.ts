import { describe, expect, it } from '@jest/globals';
import type { Db } from '../../db/database.ts';
import { listSigningKeys } from '../../db/repositories/signing-keys.ts';
import { ensureSigningKeys, keySetAt, rotateSigningKeys } from '../../server/keys/signing-keys.ts';
import { createSecrets } from '../../server/secrets.ts';
import { migratedDatabasePerFile } from '../support/database.ts';

/** Signing keys at rest: made once however many nodes start, private halves sealed, rotation two-phase. */
const secrets = createSecrets('integration-secret-key-0123456789abcd');
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

describe('signing keys', () => {
  it('are made once per algorithm, even when several starts race', async () => {
    await Promise.all([ensureSigningKeys(db, secrets), ensureSigningKeys(db, secrets), ensureSigningKeys(db, secrets)]);
    await ensureSigningKeys(db, secrets);
    const rows = await listSigningKeys(db);
    expect(rows.map((r) => r.alg).sort()).toEqual(['ES256', 'RS256']);
  });

  it('keep their private halves encrypted with SECRET_KEY', async () => {
    for (const row of await listSigningKeys(db)) {
      expect(row.private_jwk_encrypted).toMatch(/^v1\./);
      expect(row.private_jwk_encrypted).not.toContain('"d"');
      expect(row.public_jwk).not.toHaveProperty('d');
      expect(JSON.parse(secrets.decrypt(row.private_jwk_encrypted))).toMatchObject({
        kid: row.kid,
        d: expect.any(String),
      });
    }
  });

  it('rotate in two phases: the old keys retire when the new ones start signing', async () => {
    const before = await listSigningKeys(db);
    const now = new Date();
    const created = await rotateSigningKeys(db, secrets, { now });
    const rows = await listSigningKeys(db);
    expect(rows).toHaveLength(4);
    for (const old of before) {
      const retired = rows.find((r) => r.kid === old.kid);
      expect(retired?.retired_at?.toISOString()).toBe(created[0]?.activates_at);
    }
    const signingNow = keySetAt(rows, secrets, now.getTime())
      .keys.slice(0, 2)
      .map((k) => k.kid);
    expect(signingNow.sort()).toEqual(before.map((k) => k.kid).sort());
    const signingLater = keySetAt(rows, secrets, Date.parse(created[0]?.activates_at ?? ''))
      .keys.slice(0, 2)
      .map((k) => k.kid);
    expect(signingLater.sort()).toEqual(created.map((k) => k.kid).sort());
  });
});
