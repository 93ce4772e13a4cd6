import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from '@jest/globals';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type Db, embeddedPgliteOptions } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrator.ts';
import { templateDir } from './global-setup.ts';

/**
 * A database of the test's own, dropped afterwards. With DATABASE_URL set (CI's second run) it is
 * a new database on that Postgres server, which the server migrates as it starts; otherwise an
 * embedded PGlite in a temporary folder, a copy of the migrated template.
 */
export interface TestDatabase {
  /** The environment a Tessera server or the CLI needs to use this database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

export const TEST_SECRET_KEY = 'test-secret-key-0123456789abcdefghijklmnopqrstuv';

export async function createTestDatabase(): Promise<TestDatabase> {
  // A data dir in either mode: the embedded database lives in it, and the server keeps files there.
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-test-'));
  const removeDataDir = () => rm(dataDir, { recursive: true, force: true });
  const base = process.env.DATABASE_URL;
  if (!base) {
    await cp(join(templateDir(), 'pgdata'), join(dataDir, 'pgdata'), { recursive: true });
    return { env: { DATA_DIR: dataDir }, drop: removeDataDir };
  }
  const database = await createPostgresDatabase(base);
  return {
    env: { DATABASE_URL: database.url, SECRET_KEY: TEST_SECRET_KEY, DATA_DIR: dataDir },
    async drop() {
      await database.drop();
      await removeDataDir();
    },
  };
}

/**
 * A Kysely handle on a database of its own in this process, for tests below the HTTP surface:
 * empty, or `migrated` to the latest schema.
 */
export async function openTestDb(options: { migrated?: boolean } = {}): Promise<{ db: Db; close(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const pglite = await PGlite.create({
      ...(await embeddedPgliteOptions()),
      ...(options.migrated && { loadDataDir: new Blob([await readFile(join(templateDir(), 'pgdata.tar'))]) }),
    });
    const db = new Kysely<never>({ dialect: new PGliteDialect({ pglite }) }) as unknown as Db;
    return { db, close: () => db.destroy() };
  }
  const database = await createPostgresDatabase(base);
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  // Dropping the database (WITH FORCE) may end a backend the closed pool is still shutting down;
  // the FATAL it sends then lands on an idle client, where it means nothing.
  pool.on('error', () => {});
  const db = new Kysely<never>({ dialect: new PostgresDialect({ pool }) }) as unknown as Db;
  if (options.migrated) await migrateToLatest(db);
  return {
    db,
    async close() {
      await db.destroy();
      await database.drop();
    },
  };
}

/** A new, empty database on the PostgreSQL server at `base`. */
async function createPostgresDatabase(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

/** A migrated database of the calling test file's own: opened before its tests, dropped after them. */
export function migratedDatabasePerFile(use: (db: Db) => void): void {
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const opened = await openTestDb({ migrated: true });
    close = opened.close;
    use(opened.db);
  });
  afterAll(async () => {
    await close?.();
  });
}

/**
 * A plain SQL connection to a running server's database, as an operator (or an intruder) with
 * psql would have: DATABASE_URL itself, or the embedded database through the server's socket.
 */
export async function connectSql(env: Record<string, string>): Promise<pg.Client> {
  const client = env.DATABASE_URL
    ? new pg.Client({ connectionString: env.DATABASE_URL })
    : new pg.Client({ host: env.DATA_DIR, port: 5432, user: 'postgres', database: 'postgres' });
  await client.connect();
  return client;
}
