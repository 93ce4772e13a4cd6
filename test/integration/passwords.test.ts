import { availableParallelism } from 'node:os';
import { describe, expect, it, jest } from '@jest/globals';
import argon2 from '@node-rs/argon2';
import type { Db } from '../../db/database.ts';
import { findUserById, insertUser } from '../../db/repositories/users.ts';
import { hashPassword, shareHashingCores, verifyPassword } from '../../server/accounts/passwords.ts';
import { authenticate } from '../../server/accounts/users.ts';
import { AppError } from '../../server/errors.ts';
import { migratedDatabasePerFile } from '../support/database.ts';

/** Checking a password, and storing a fresh hash when the argon2 parameters have moved on. */
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

describe('authenticate', () => {
  it('rehashes a password stored with older argon2 parameters on the next good login', async () => {
    // argon2id (the default) at parameters Tessera no longer uses.
    const old = await argon2.hash('an old but long passphrase', { memoryCost: 8_192, timeCost: 1 });
    await insertUser(db, { id: 'u-old', email: 'old@example.test', password_hash: old, email_verified: true });
    await authenticate(db, 'old@example.test', 'an old but long passphrase');
    const stored = (await findUserById(db, 'u-old'))?.password_hash ?? '';
    expect(stored).not.toBe(old);
    expect(stored).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    await expect(authenticate(db, 'OLD@example.test', 'an old but long passphrase')).resolves.toMatchObject({
      id: 'u-old',
    });
  });

  it('answers a wrong password and an unknown account with the same error', async () => {
    const errors = await Promise.all(
      [
        ['old@example.test', 'wrong passphrase here'],
        ['nobody@example.test', 'wrong passphrase here'],
      ].map(([login, password]) => authenticate(db, login ?? '', password ?? '').catch((err: unknown) => err)),
    );
    for (const err of errors) {
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'invalid_credentials', message: 'Incorrect email, username or password.' });
    }
  });
});

describe('password hashing under a burst', () => {
  /** Fires `count` checks at once, a third of them right; returns the most argon2 ran at a time. */
  async function burst(count: number): Promise<number> {
    const hash = await hashPassword('the one right passphrase');
    let running = 0;
    let most = 0;
    const verify = argon2.verify.bind(argon2);
    const spy = jest.spyOn(argon2, 'verify').mockImplementation(async (...args: Parameters<typeof argon2.verify>) => {
      running++;
      most = Math.max(most, running);
      try {
        return await verify(...args);
      } finally {
        running--;
      }
    });
    try {
      const tries = Array.from({ length: count }, (_, i) => (i % 3 === 0 ? 'the one right passphrase' : `wrong ${i}`));
      const answers = await Promise.all(tries.map((password) => verifyPassword(hash, password)));
      expect(answers).toEqual(tries.map((password) => password === 'the one right passphrase'));
      expect(spy).toHaveBeenCalledTimes(count);
      return most;
    } finally {
      spy.mockRestore();
    }
  }

  it('checks 120 passwords at once, at most one per core at a time, each with its right answer', async () => {
    const most = await burst(120);
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(availableParallelism());
  });

  it('checks one at a time per process when as many worker processes as cores share the machine', async () => {
    try {
      shareHashingCores(availableParallelism());
      expect(await burst(120)).toBe(1);
      // More processes than cores: still one each, never none.
      shareHashingCores(availableParallelism() * 3);
      expect(await burst(12)).toBe(1);
    } finally {
      shareHashingCores(1);
    }
  });
});
