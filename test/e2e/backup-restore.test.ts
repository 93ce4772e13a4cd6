import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as oidc from 'openid-client';
import { openDatabase } from '../../db/database.ts';
import { migrateTo } from '../../db/migrator.ts';
import { createTestDatabase, TEST_SECRET_KEY, type TestDatabase } from '../support/database.ts';
import { relyingPartyOn, signInWithForms } from '../support/form-client.ts';
import { type RunningTessera, runCli, startTessera } from '../support/tessera.ts';

/**
 * `tessera backup FILE` beside a running server and `tessera restore FILE` into an empty target:
 * a server on the restored data signs the same people in, accepts the same client secrets,
 * publishes the same keys and honours refresh tokens issued before the backup. A bad file or a
 * target in use is refused with a clear message, and leaves the target as it was.
 */
const postgres = Boolean(process.env.DATABASE_URL);
const REDIRECT = 'http://127.0.0.1:9/callback';
const PASSWORD = 'a long enough passphrase for backups';
// Each copy-and-restore starts two or three databases (a PGlite each in embedded mode).
const SLOW = 180_000;

let source: RunningTessera;
let work: string;
let spaId: string;
let machine: { client_id: string; client_secret: string };
let refreshToken: string;
/** A backup of `source` made in beforeAll, for the tests that spoil a copy of it. */
let backupFile: string;

const targets: TestDatabase[] = [];

/** A restore target nothing has used: a new DATA_DIR, or a new database on the PostgreSQL server. */
async function emptyTarget(): Promise<TestDatabase> {
  const target = postgres
    ? await createTestDatabase()
    : (() => {
        const dataDir = join(work, `target-${randomBytes(4).toString('hex')}`);
        return { env: { DATA_DIR: dataDir }, drop: () => rm(dataDir, { recursive: true, force: true }) };
      })();
  targets.push(target);
  return target;
}

/** What a target holds: the DATA_DIR's entries, or the database's tables. */
async function contentsOf(target: TestDatabase): Promise<string[]> {
  if (!postgres) return readdir(target.env.DATA_DIR ?? '').catch(() => []);
  const database = await openDatabase({
    databaseUrl: target.env.DATABASE_URL,
    dataDir: target.env.DATA_DIR ?? '',
    role: 'cli',
  });
  try {
    const tables = await database.db.introspection.getTables();
    return tables.map((t) => t.name);
  } finally {
    await database.close();
  }
}

/** The keys in /jwks, by kid: which key signs first may change order, not the set. */
async function publishedKeys(base: string) {
  const { keys } = (await (await fetch(new URL('/jwks', base))).json()) as { keys: { kid: string }[] };
  return keys.sort((a, b) => a.kid.localeCompare(b.kid));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tessera-backup-'));
  source = await startTessera();
  (await source.cli(['users', 'create', '--email', 'ada@example.com', '--password-stdin'], PASSWORD)).json();
  spaId = (await source.cli(['clients', 'create', '--name', 'App', '--type', 'spa', '--redirect-uri', REDIRECT])).json<{
    client_id: string;
  }>().client_id;
  machine = (await source.cli(['clients', 'create', '--name', 'Robot', '--type', 'machine'])).json();
  (await source.cli(['keys', 'rotate'])).json();
  const config = await relyingPartyOn(source.issuer, spaId);
  const tokens = await signInWithForms(config, source.issuer, {
    redirectUri: REDIRECT,
    login: 'ada@example.com',
    password: PASSWORD,
  });
  refreshToken = tokens.refresh_token ?? '';
  expect(refreshToken).not.toBe('');
  backupFile = join(work, 'early.backup');
  (await source.cli(['backup', backupFile])).json();
}, SLOW);

afterAll(async () => {
  await source?.dispose();
  for (const target of targets) await target.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('tessera backup and restore', () => {
  it(
    'copies a running server under load, and a server on the restored copy carries on where it was',
    async () => {
      // The server keeps answering while the backup reads it: 120 token requests land around it.
      const machineConfig = await relyingPartyOn(
        source.issuer,
        machine.client_id,
        source.issuer,
        machine.client_secret,
      );
      const file = join(work, 'tessera.backup');
      const [backup, ...tokens] = await Promise.all([
        source.cli(['backup', file]),
        ...Array.from({ length: 120 }, () => oidc.clientCredentialsGrant(machineConfig)),
      ]);
      expect(tokens.every((t) => typeof t.access_token === 'string')).toBe(true);
      const summary = backup.json<{ tables: Record<string, number>; secret_key_included: boolean }>();
      expect(summary.tables.users).toBe(1);
      expect(summary.tables.clients).toBe(2);
      expect(summary.secret_key_included).toBe(!postgres);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const jwksBefore = await publishedKeys(source.issuer);

      const target = await emptyTarget();
      const restore = await runCli(target.env, ['restore', file]);
      expect(restore.json()).toMatchObject({ applied: [], tables: { users: 1, clients: 2 } });
      if (!postgres) {
        expect((await stat(join(target.env.DATA_DIR ?? '', 'secret-key'))).mode & 0o777).toBe(0o600);
      }

      // Same issuer, as after moving a server to new hardware; its own port here.
      const restored = await startTessera({ ISSUER: source.issuer }, { env: target.env, drop: async () => {} });
      try {
        const node = `http://localhost:${restored.env.PORT}`;
        expect(await publishedKeys(node)).toEqual(jwksBefore);

        const robot = await relyingPartyOn(source.issuer, machine.client_id, node, machine.client_secret);
        expect((await oidc.clientCredentialsGrant(robot)).access_token).toBeTruthy();

        const app = await relyingPartyOn(source.issuer, spaId, node);
        const refreshed = await oidc.refreshTokenGrant(app, refreshToken);
        expect(refreshed.refresh_token).toBeTruthy();
        expect(refreshed.claims()?.sub).toBeTruthy();

        const signedIn = await signInWithForms(app, node, {
          redirectUri: REDIRECT,
          login: 'ada@example.com',
          password: PASSWORD,
        });
        expect(signedIn.claims()).toMatchObject({ email: 'ada@example.com', sub: refreshed.claims()?.sub });
      } finally {
        await restored.stop();
      }
    },
    SLOW,
  );

  it(
    'restores a backup from an older Tessera and migrates it to this one',
    async () => {
      // A database left at an older migration, as an older release would have it.
      const oldDir = join(work, 'old');
      await mkdir(oldDir);
      await writeFile(join(oldDir, 'secret-key'), postgres ? TEST_SECRET_KEY : randomBytes(32).toString('hex'), {
        mode: 0o600,
      });
      const old = await openDatabase({ databaseUrl: undefined, dataDir: oldDir, role: 'cli' });
      await migrateTo(old.db, '20261123T1800-mfa');
      await old.db.insertInto('users').values({ id: 'usr_old', email: 'old@example.com' }).execute();
      await old.close();
      const file = join(work, 'old.backup');
      expect((await runCli({ DATA_DIR: oldDir }, ['backup', file])).json()).toMatchObject({
        migration: '20261123T1800-mfa',
      });

      const target = await emptyTarget();
      const restored = (await runCli(target.env, ['restore', file])).json<{ applied: string[] }>();
      expect(restored).toMatchObject({ migration: '20261123T1800-mfa', tables: { users: 1 } });
      expect(restored.applied).toContain('20261123T1900-federation');
      expect(await contentsOf(target)).toEqual(
        expect.arrayContaining(postgres ? ['federated_identities'] : ['pgdata']),
      );
    },
    SLOW,
  );
});

describe('tessera backup refuses', () => {
  it('a FILE it cannot write, leaving nothing behind', async () => {
    const result = await source.cli(['backup', join(work, 'no-such-folder', 'x.backup')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot write .*no-such-folder\/x\.backup \(ENOENT\)/);
    expect(await readdir(work)).not.toContain('no-such-folder');
  });

  it('a DATA_DIR that holds no Tessera database, creating none there', async () => {
    const empty = join(work, 'empty-data-dir');
    await mkdir(empty);
    const result = await runCli({ DATA_DIR: empty }, ['backup', join(work, 'nothing.backup')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${empty} holds no Tessera database (set DATA_DIR to the server's)`);
    expect(await readdir(empty)).toEqual([]);
    expect(await readdir(work)).not.toContain('nothing.backup');
  });
});

describe('tessera restore refuses', () => {
  const spoiled = async (name: string, change: (content: Buffer) => Buffer) => {
    const file = join(work, name);
    await writeFile(file, change(await readFile(backupFile)));
    return file;
  };
  /** Rewrites the header line (the first) of a backup. */
  const withHeader = (edit: (header: Record<string, unknown>) => void) => (content: Buffer) => {
    const [first = '', ...rest] = gunzipSync(content).toString('utf8').split('\n');
    const header = JSON.parse(first);
    edit(header);
    return gzipSync([JSON.stringify(header), ...rest].join('\n'));
  };

  async function refused(file: string, message: RegExp | string, env: Record<string, string> = {}) {
    const target = await emptyTarget();
    const result = await runCli({ ...target.env, ...env }, ['restore', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // Nothing half-written: the target is as empty as it was.
    expect(await contentsOf(target)).toEqual([]);
  }

  it('a file that does not exist', async () => {
    await refused(join(work, 'nowhere.backup'), /nowhere\.backup does not exist/);
  });

  it('a file that is not a backup', async () => {
    await refused(await spoiled('noise.backup', () => randomBytes(4096)), /is not a Tessera backup/);
  });

  it('a truncated file', async () => {
    await refused(
      await spoiled('half.backup', (c) => c.subarray(0, Math.floor(c.length / 2))),
      /not a complete gzip file/,
    );
  });

  it('a file missing rows its header counts', async () => {
    const dropLastRows = (content: Buffer) => {
      const lines = gunzipSync(content).toString('utf8').trimEnd().split('\n');
      const rows = lines.findLastIndex((l) => l.startsWith('{"table":'));
      lines.splice(rows, 1);
      return gzipSync(lines.join('\n'));
    };
    await refused(await spoiled('short.backup', dropLastRows), /is damaged/);
  });

  it('a file from a newer Tessera', async () => {
    const newer = withHeader((h) => {
      h.migrations = [...(h.migrations as string[]), '29991231T2359-from-the-future'];
    });
    await refused(await spoiled('newer.backup', newer), /comes from a newer Tessera \(migration 29991231T2359/);
  });

  it('a SECRET_KEY other than the one the backup was made with', async () => {
    await refused(backupFile, /SECRET_KEY is not the key this backup was made with/, {
      SECRET_KEY: 'another-key-0123456789-another-key-0123456789',
    });
  });

  it('a target already in use, which it leaves untouched', async () => {
    const result = await source.cli(['restore', backupFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      postgres ? /database at DATABASE_URL is not empty/ : /a Tessera server is running on .*; stop it/,
    );
    expect((await source.cli(['clients', 'list'])).json<unknown[]>()).toHaveLength(2);
    if (!postgres) {
      const dataDir = join(work, 'occupied');
      await mkdir(dataDir);
      await writeFile(join(dataDir, 'notes.txt'), 'mine');
      const occupied = await runCli({ DATA_DIR: dataDir }, ['restore', backupFile]);
      expect(occupied.code).toBe(1);
      expect(occupied.stderr).toContain(`${dataDir} is not empty; restore only into a new or empty DATA_DIR`);
      expect(await readdir(dataDir)).toEqual(['notes.txt']);
    }
  });
});
