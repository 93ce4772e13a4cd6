import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { generate } from 'otplib';
import type { Db } from '../../db/database.ts';
import { insertUser } from '../../db/repositories/users.ts';
import {
  confirmTotpEnrolment,
  hasTotp,
  mfaRequired,
  pendingEnrolment,
  RECOVERY_CODE_COUNT,
  recoveryCodesLeft,
  regenerateRecoveryCodes,
  removeMfa,
  startTotpEnrolment,
  verifySecondFactor,
} from '../../server/mfa/factors.ts';
import { createSecrets } from '../../server/secrets.ts';
import { openTestDb } from '../support/database.ts';

/** TOTP enrolment, replay-safe codes with one step of drift, single-use recovery codes, and who must use MFA. */
let db: Db;
let close: () => Promise<void>;
const secrets = createSecrets('mfa-factors-test-secret-key-0123456789abcdef');
const user = { id: 'u-mfa', email: 'mfa@example.test' };

// Ten seconds into a 30-second step, so "now ± 30 s" lands squarely in the neighbouring steps.
const T0 = (Math.floor(Date.now() / 30_000) + 1) * 30_000 + 10_000;
const at = (ms: number) => jest.spyOn(Date, 'now').mockReturnValue(ms);
const codeAt = (secret: string, ms: number) => generate({ secret, epoch: Math.floor(ms / 1000) });

async function newRecoveryCodes(userId: string): Promise<string[]> {
  const codes = await regenerateRecoveryCodes(db, userId);
  if (!codes) throw new Error(`${userId} has no authenticator app`);
  return codes;
}

beforeAll(async () => {
  ({ db, close } = await openTestDb({ migrated: true }));
  await insertUser(db, { id: user.id, email: user.email });
});

afterEach(() => {
  jest.restoreAllMocks();
});

afterAll(async () => {
  await close();
});

describe('TOTP factor', () => {
  let secret = '';
  let recovery: string[] = [];

  it('enrols with an otpauth URI and a QR code, and stores the secret encrypted', async () => {
    const first = await startTotpEnrolment(db, secrets, user);
    const enrolment = await startTotpEnrolment(db, secrets, user);
    expect(enrolment.secret).not.toBe(first.secret);
    secret = enrolment.secret;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);

    const uri = new URL(enrolment.uri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe('/Tessera:mfa@example.test');
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({
      secret,
      issuer: 'Tessera',
      algorithm: 'SHA1',
      digits: '6',
      period: '30',
    });
    expect(enrolment.qrSvg).toMatch(/^<svg /);

    await expect(pendingEnrolment(db, secrets, user)).resolves.toMatchObject({ secret, uri: enrolment.uri });
    const row = await db
      .selectFrom('totp_factors')
      .selectAll()
      .where('user_id', '=', user.id)
      .executeTakeFirstOrThrow();
    expect(row.secret_encrypted).not.toContain(secret);
    expect(secrets.decrypt(row.secret_encrypted)).toBe(secret);
    expect(row.confirmed_at).toBeNull();
    await expect(hasTotp(db, user.id)).resolves.toBe(false);
  });

  it('activates only after a valid code, and returns ten distinct recovery codes', async () => {
    at(T0);
    await expect(confirmTotpEnrolment(db, secrets, user.id, '000000')).resolves.toBeUndefined();
    await expect(confirmTotpEnrolment(db, secrets, user.id, 'abcdef')).resolves.toBeUndefined();
    await expect(hasTotp(db, user.id)).resolves.toBe(false);

    recovery = (await confirmTotpEnrolment(db, secrets, user.id, await codeAt(secret, T0))) ?? [];
    expect(recovery).toHaveLength(RECOVERY_CODE_COUNT);
    expect(new Set(recovery).size).toBe(RECOVERY_CODE_COUNT);
    for (const code of recovery) expect(code).toMatch(/^[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{4}-[2-9a-hjkmnp-z]{2}$/);
    await expect(hasTotp(db, user.id)).resolves.toBe(true);
    await expect(pendingEnrolment(db, secrets, user)).resolves.toBeUndefined();
    await expect(recoveryCodesLeft(db, user.id)).resolves.toBe(RECOVERY_CODE_COUNT);
    await expect(startTotpEnrolment(db, secrets, user)).rejects.toMatchObject({ code: 'conflict' });
  });

  it('refuses the same step twice, allows one step of drift and not two', async () => {
    at(T0);
    // The confirming code spent this step.
    await expect(verifySecondFactor(db, secrets, user.id, await codeAt(secret, T0))).resolves.toBeUndefined();

    at(T0 + 60_000);
    const previous = await codeAt(secret, T0 + 30_000);
    await expect(verifySecondFactor(db, secrets, user.id, previous)).resolves.toBe('otp');
    await expect(verifySecondFactor(db, secrets, user.id, previous)).resolves.toBeUndefined();

    at(T0 + 150_000);
    const twoBack = await codeAt(secret, T0 + 90_000);
    await expect(verifySecondFactor(db, secrets, user.id, twoBack)).resolves.toBeUndefined();
    const ahead = await codeAt(secret, T0 + 180_000);
    await expect(verifySecondFactor(db, secrets, user.id, `${ahead.slice(0, 3)} ${ahead.slice(3)}`)).resolves.toBe(
      'otp',
    );
    // A step earlier than one already spent is a replay too.
    await expect(verifySecondFactor(db, secrets, user.id, await codeAt(secret, T0 + 150_000))).resolves.toBeUndefined();
    await expect(verifySecondFactor(db, secrets, user.id, '12345')).resolves.toBeUndefined();
  });

  it('accepts a recovery code once, in any case and without dashes', async () => {
    const [first = '', second = ''] = recovery;
    await expect(verifySecondFactor(db, secrets, user.id, first)).resolves.toBe('recovery');
    await expect(verifySecondFactor(db, secrets, user.id, first)).resolves.toBeUndefined();
    await expect(
      verifySecondFactor(db, secrets, user.id, ` ${second.replaceAll('-', '').toUpperCase()} `),
    ).resolves.toBe('recovery');
    await expect(verifySecondFactor(db, secrets, user.id, second)).resolves.toBeUndefined();
    await expect(verifySecondFactor(db, secrets, user.id, 'zzzz-zzzz-zz')).resolves.toBeUndefined();
    await expect(recoveryCodesLeft(db, user.id)).resolves.toBe(RECOVERY_CODE_COUNT - 2);
    const row = await db.selectFrom('recovery_codes').select('code_hash').where('user_id', '=', user.id).execute();
    expect(row.map((r) => r.code_hash)).not.toContain(first);
  });

  it('invalidates the old set when codes are regenerated', async () => {
    const fresh = await newRecoveryCodes(user.id);
    expect(fresh).toHaveLength(RECOVERY_CODE_COUNT);
    await expect(recoveryCodesLeft(db, user.id)).resolves.toBe(RECOVERY_CODE_COUNT);
    await expect(verifySecondFactor(db, secrets, user.id, recovery[2] ?? '')).resolves.toBeUndefined();
    await expect(verifySecondFactor(db, secrets, user.id, fresh[0] ?? '')).resolves.toBe('recovery');
  });

  it('leaves one set of recovery codes working when 100 sets are made at once', async () => {
    const sets = await Promise.all(Array.from({ length: 100 }, () => newRecoveryCodes(user.id)));
    await expect(recoveryCodesLeft(db, user.id)).resolves.toBe(RECOVERY_CODE_COUNT);
    const working = await Promise.all(
      sets.map(async ([code = '']) => (await verifySecondFactor(db, secrets, user.id, code)) === 'recovery'),
    );
    expect(working.filter(Boolean)).toHaveLength(1);
  });

  it('lets only one of two simultaneous uses of a code through', async () => {
    at(T0 + 240_000);
    const code = await codeAt(secret, T0 + 240_000);
    const otp = await Promise.all([1, 2].map(() => verifySecondFactor(db, secrets, user.id, code)));
    expect(otp.sort()).toEqual(['otp', undefined]);
    const [, spare = ''] = await newRecoveryCodes(user.id);
    const recovered = await Promise.all([1, 2].map(() => verifySecondFactor(db, secrets, user.id, spare)));
    expect(recovered.sort()).toEqual(['recovery', undefined]);
  });

  it('removes the factor and its codes', async () => {
    await removeMfa(db, user.id);
    await expect(hasTotp(db, user.id)).resolves.toBe(false);
    await expect(recoveryCodesLeft(db, user.id)).resolves.toBe(0);
    at(T0 + 300_000);
    await expect(verifySecondFactor(db, secrets, user.id, await codeAt(secret, T0 + 300_000))).resolves.toBeUndefined();
    await expect(regenerateRecoveryCodes(db, user.id)).resolves.toBe(false);
  });
});

describe('mfaRequired', () => {
  it('is true for an admin (set by the migration) or a client that requires it, false otherwise', async () => {
    await insertUser(db, { id: 'u-admin', email: 'admin@example.test' });
    await db.insertInto('user_roles').values({ user_id: 'u-admin', role_id: 'role_admin' }).execute();
    await db
      .insertInto('clients')
      .values([
        {
          client_id: 'plain',
          name: 'Plain',
          type: 'spa',
          redirect_uris: '[]',
          post_logout_redirect_uris: '[]',
          scopes: 'null',
        },
        {
          client_id: 'strict',
          name: 'Strict',
          type: 'spa',
          redirect_uris: '[]',
          post_logout_redirect_uris: '[]',
          scopes: 'null',
        },
      ])
      .execute();
    await db.updateTable('clients').set({ require_mfa: true }).where('client_id', '=', 'strict').execute();

    await expect(mfaRequired(db, 'u-admin', undefined)).resolves.toBe(true);
    await expect(mfaRequired(db, 'u-admin', 'plain')).resolves.toBe(true);
    await expect(mfaRequired(db, user.id, undefined)).resolves.toBe(false);
    await expect(mfaRequired(db, user.id, 'plain')).resolves.toBe(false);
    await expect(mfaRequired(db, user.id, 'strict')).resolves.toBe(true);
    await expect(mfaRequired(db, user.id, 'unknown')).resolves.toBe(false);
  });
});

describe('an enrolment started and left', () => {
  const late = { id: 'u-late', email: 'late@example.test' };

  it('lapses after five minutes: its key is not shown again and its codes no longer turn it on', async () => {
    await insertUser(db, { id: late.id, email: late.email });
    const started = Date.now();
    const { secret } = await startTotpEnrolment(db, secrets, late);
    at(started + 4 * 60_000);
    await expect(pendingEnrolment(db, secrets, late)).resolves.toMatchObject({ secret });

    const lapsed = started + 5 * 60_000 + 5_000;
    at(lapsed);
    await expect(pendingEnrolment(db, secrets, late)).resolves.toBeUndefined();
    await expect(confirmTotpEnrolment(db, secrets, late.id, await codeAt(secret, lapsed))).resolves.toBeUndefined();
    await expect(hasTotp(db, late.id)).resolves.toBe(false);

    // Starting again (after a fresh proof, the caller's job) makes a new key with a new five minutes.
    jest.restoreAllMocks();
    const again = await startTotpEnrolment(db, secrets, late);
    expect(again.secret).not.toBe(secret);
    await expect(pendingEnrolment(db, secrets, late)).resolves.toMatchObject({ secret: again.secret });
  });
});
