import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import { updatePasswordHash } from '../../db/repositories/users.ts';
import { hashPassword } from '../../server/accounts/passwords.ts';
import { hasTotp } from '../../server/mfa/factors.ts';
import { createSecrets } from '../../server/secrets.ts';
import { type ImportReport, ImportStopped, importUsers } from '../../server/user-import/import-users.ts';
import { readJsonLines } from '../../server/user-import/json-lines.ts';
import { migratedDatabasePerFile } from '../support/database.ts';

/**
 * `users import` against a real database: what a run creates and updates, that a second run of
 * the same file changes nothing, that refused lines are named and never half-written, that a batch
 * the database refuses is rolled back whole, that a dry run writes nothing, and that imports
 * racing each other still make each user once.
 */
const secrets = createSecrets('user-import-test-secret-key-0123456789abcdef');
const fixtures = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'imports', 'password-hashes.json'), 'utf8'),
) as { hashes: { format: string; hash: string }[] };
const BCRYPT = fixtures.hashes.find((h) => h.format === 'bcrypt')?.hash as string;
const SCRYPT = fixtures.hashes.find((h) => h.format === 'scrypt')?.hash as string;
const TOTP = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

const lines = (...users: unknown[]) => users.map((u) => (typeof u === 'string' ? u : JSON.stringify(u))).join('\n');
const run = (text: string, options: Parameters<typeof importUsers>[3] = {}) =>
  importUsers(db, secrets, readJsonLines(text), options);
const counts = (r: ImportReport) => ({ created: r.created, updated: r.updated, unchanged: r.unchanged });

async function userNamed(email: string) {
  return db
    .selectFrom('users')
    .selectAll()
    .select((eb) =>
      eb
        .selectFrom('user_roles')
        .innerJoin('roles', 'roles.id', 'user_roles.role_id')
        .whereRef('user_roles.user_id', '=', 'users.id')
        .select(sql<string>`string_agg(roles.name, ',' order by roles.name)`.as('r'))
        .as('role_names'),
    )
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

const countOf = async (table: 'users' | 'roles' | 'user_roles') =>
  Number((await db.selectFrom(table).select(sql<string>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);

describe('importing JSON lines', () => {
  const file = lines(
    {
      email: 'ann@example.test',
      email_verified: true,
      username: 'ann',
      name: 'Ann',
      roles: ['staff'],
      password_hash: BCRYPT,
    },
    { email: 'ben@example.test', roles: ['staff', 'billing'], password_hash: SCRYPT, totp_secret: TOTP.toLowerCase() },
    { email: 'cid@example.test', email_verified: false },
  );

  it('creates the users, their roles and factors, and says what it did', async () => {
    const report = await run(file);
    expect(report).toEqual({
      dry_run: false,
      created: 3,
      updated: 0,
      unchanged: 0,
      invalid: [],
      roles_created: ['billing', 'staff'],
    });
    const ann = await userNamed('ann@example.test');
    expect(ann).toMatchObject({ username: 'ann', name: 'Ann', email_verified: true, password_hash: BCRYPT });
    expect(ann?.role_names).toBe('staff');
    expect(ann?.password_imported_at).toBeInstanceOf(Date);
    const ben = await userNamed('ben@example.test');
    expect(ben).toMatchObject({ email_verified: false, password_hash: SCRYPT, role_names: 'billing,staff' });
    expect(await hasTotp(db, ben?.id as string)).toBe(true);
    expect(await userNamed('cid@example.test')).toMatchObject({ password_hash: null, password_imported_at: null });
  });

  it('changes nothing when the same file is imported again', async () => {
    const before = await db.selectFrom('users').selectAll().orderBy('email').execute();
    expect(counts(await run(file))).toEqual({ created: 0, updated: 0, unchanged: 3 });
    expect(await db.selectFrom('users').selectAll().orderBy('email').execute()).toEqual(before);
  });

  it('adds what a newer file adds, but keeps what people did in Tessera since', async () => {
    const ann = await userNamed('ann@example.test');
    // Ann signed in (her hash is Tessera's now); Cid verified his address.
    await updatePasswordHash(db, ann?.id as string, await hashPassword('a long and unusual passphrase'));
    await db.updateTable('users').set({ email_verified: true }).where('email', '=', 'cid@example.test').execute();
    const report = await run(
      lines(
        { email: 'ANN@example.test', username: 'ann', name: 'Ann Arbor', roles: ['billing'], password_hash: SCRYPT },
        { email: 'ben@example.test', roles: ['staff'], password_hash: BCRYPT, totp_secret: 'MFRGGZDFMZTWQ2LKNNWG23TP' },
        { email: 'cid@example.test', email_verified: false },
      ),
    );
    expect(counts(report)).toEqual({ created: 0, updated: 2, unchanged: 1 });
    expect(await userNamed('ann@example.test')).toMatchObject({
      name: 'Ann Arbor',
      role_names: 'billing,staff',
      password_imported_at: null,
    });
    expect((await userNamed('ann@example.test'))?.password_hash).toMatch(/^\$argon2id\$/);
    // Ben never signed in here: his imported hash gives way to the newer one.
    expect(await userNamed('ben@example.test')).toMatchObject({ password_hash: BCRYPT });
    expect(await userNamed('cid@example.test')).toMatchObject({ email_verified: true });
  });
});

describe('refused lines', () => {
  it('are named by line number and not written at all, while the others are imported', async () => {
    // Someone signed up here as mia@ with a password of their own and never verified the address.
    const signup = { email: 'mia@example.test', password_hash: await hashPassword('not the owner of this address') };
    await db
      .insertInto('users')
      .values({ id: 'u-mia', ...signup })
      .execute();
    const report = await run(
      // A byte-order mark before the first line, as some editors write one.
      '\uFEFF' +
        lines(
          { email: 'dot@example.test', username: 'dot', roles: ['ops'] },
          '{"email": "broken@example.test", ',
          { email: 'not an address' },
          { email: 'eve@example.test', password_hash: '$1$saltsalt$qjXMvbEw8oaL.CzflDugX/', roles: ['ops-new'] },
          '',
          { email: 'fay@example.test', emailVerified: true },
          { email: 'DOT@example.test' },
          { email: 'gus@example.test', username: 'ann', roles: ['gus-only'] },
          { email: 'hal@example.test', totp_secret: 'not base32!' },
          '[1, 2]',
          { email: 'ivy@example.test', username: 'ivy' },
          { email: 'mia@example.test', email_verified: true, roles: ['ops'], password_hash: BCRYPT },
        ),
      { batchSize: 2 },
    );
    expect(counts(report)).toEqual({ created: 2, updated: 0, unchanged: 0 });
    expect(report.roles_created).toEqual(['ops']);
    expect(report.invalid).toEqual([
      { line: 2, error: 'is not valid JSON' },
      { line: 3, error: 'email: must be an email address' },
      {
        line: 4,
        error: expect.stringMatching(/^password_hash: is not a hash Tessera can verify \(accepted: argon2, bcrypt/),
      },
      { line: 6, error: expect.stringContaining('emailVerified') },
      { line: 7, error: 'email is already on line 1' },
      { line: 8, error: 'username ann belongs to another user' },
      { line: 9, error: 'totp_secret: must be base32 of at least 80 bits' },
      { line: 10, error: expect.stringContaining('expected object') },
      { line: 12, error: 'an unverified sign-up holds this address: verify or delete it first' },
    ]);
    for (const email of ['broken', 'eve', 'fay', 'gus', 'hal'])
      expect(await userNamed(`${email}@example.test`)).toBeUndefined();
    expect(await db.selectFrom('roles').select('name').where('name', 'in', ['ops-new', 'gus-only']).execute()).toEqual(
      [],
    );
  });

  it('a batch the database refuses is rolled back whole; the run stops there and a second run goes on', async () => {
    await sql`create function refuse_mallory() returns trigger language plpgsql as $$
      begin
        if new.email = 'mallory@example.test' then raise exception 'refused by a test trigger'; end if;
        return new;
      end $$`.execute(db);
    await sql`create trigger refuse_mallory before insert on users for each row execute function refuse_mallory()`.execute(
      db,
    );
    const file = lines(
      { email: 'jo@example.test', roles: ['batch-one'] },
      { email: 'kim@example.test', roles: ['batch-one'] },
      { email: 'lee@example.test', roles: ['batch-two'], totp_secret: TOTP },
      { email: 'mallory@example.test', roles: ['batch-two'] },
      { email: 'ned@example.test', roles: ['batch-three'] },
    );
    const [users, roles, grants] = [await countOf('users'), await countOf('roles'), await countOf('user_roles')];
    const stopped = await run(file, { batchSize: 2 }).catch((err: unknown) => err);
    expect(stopped).toBeInstanceOf(ImportStopped);
    expect((stopped as Error).message).toContain('import stopped at line 3 to line 4, of which nothing was written');
    expect((stopped as Error).message).toContain('refused by a test trigger');
    expect(counts((stopped as ImportStopped).report)).toEqual({ created: 2, updated: 0, unchanged: 0 });
    // The first batch is in; of the second, not a user, role, grant or factor; the third never ran.
    expect(await countOf('users')).toBe(users + 2);
    expect(await countOf('roles')).toBe(roles + 1);
    expect(await countOf('user_roles')).toBe(grants + 2);
    expect(await userNamed('lee@example.test')).toBeUndefined();

    await sql`drop trigger refuse_mallory on users`.execute(db);
    const again = await run(file, { batchSize: 2 });
    expect(counts(again)).toEqual({ created: 3, updated: 0, unchanged: 2 });
    expect(again.roles_created).toEqual(['batch-three', 'batch-two']);
  });
});

describe('a dry run', () => {
  it('reports what a run would do and writes nothing', async () => {
    const file = lines(
      { email: 'ann@example.test', name: 'Ann Other' },
      { email: 'oz@example.test', roles: ['dry-role'], password_hash: BCRYPT },
      { email: 'pat@example.test', roles: ['dry-role'] },
      { email: 'jo@example.test', roles: ['batch-one'] },
      { email: 'bad' },
    );
    const before = await db.selectFrom('users').selectAll().orderBy('email').execute();
    const [roles, grants] = [await countOf('roles'), await countOf('user_roles')];
    const dry = await run(file, { dryRun: true, batchSize: 2 });
    expect(dry).toMatchObject({ dry_run: true, created: 2, updated: 1, unchanged: 1, roles_created: ['dry-role'] });
    expect(dry.invalid).toEqual([{ line: 5, error: 'email: must be an email address' }]);
    expect(await db.selectFrom('users').selectAll().orderBy('email').execute()).toEqual(before);
    expect([await countOf('roles'), await countOf('user_roles')]).toEqual([roles, grants]);
    const real = await run(file, { batchSize: 2 });
    expect({ ...real, dry_run: true }).toEqual(dry);
  });
});

describe('imports racing each other', () => {
  it('make each user once: 120 imports of one file at once create its 50 users exactly once', async () => {
    const file = lines(
      ...Array.from({ length: 50 }, (_, i) => ({
        email: `race${i}@example.test`,
        roles: ['racer'],
        password_hash: BCRYPT,
      })),
    );
    const reports = await Promise.all(Array.from({ length: 120 }, () => run(file, { batchSize: 10 })));
    expect(reports.reduce((sum, r) => sum + r.created, 0)).toBe(50);
    expect(reports.every((r) => r.created + r.unchanged === 50 && r.updated === 0 && r.invalid.length === 0)).toBe(
      true,
    );
    const made = await db.selectFrom('users').select('id').where('email', 'like', 'race%').execute();
    expect(made).toHaveLength(50);
    expect(reports.flatMap((r) => r.roles_created)).toEqual(['racer']);
  });
});
