import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from '@jest/globals';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Db } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrator.ts';

/**
 * A database of the test's own, dropped afterwards. With DATABASE_URL set (CI's second run) it is
 * a new database on that Postgres server; otherwise an embedded PGlite in a temporary folder.
 */
export interface TestDatabase {
  /** The environment a Tessera server or the CLI needs to use this database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

export const TEST_SECRET_KEY = 'test-secret-key-0123456789abcdefghijklmnopqrstuv';

export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (!base) {
    const dataDir = await mkdtemp(join(tmpdir(), 'tessera-test-'));
    return { env: { DATA_DIR: dataDir }, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `tessera_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  // A data dir still, for anything the server keeps on disk in either mode.
  const dataDir = await mkdtemp(join(tmpdir(), 'tessera-test-'));
  return {
    env: { DATABASE_URL: url.toString(), SECRET_KEY: TEST_SECRET_KEY, DATA_DIR: dataDir },
    async drop() {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A Kysely handle on a fresh database in this process, for tests below the HTTP surface. */
export async function openTestDb(): Promise<{ db: Db; close(): Promise<void> }> {
  const database = await createTestDatabase();
  const pool = database.env.DATABASE_URL
    ? new pg.Pool({ connectionString: database.env.DATABASE_URL, max: 4 })
    : undefined;
  // Dropping the database (WITH FORCE) may end a backend the closed pool is still shutting down;
  // the FATAL it sends then lands on an idle client, where it means nothing.
  pool?.on('error', () => {});
  const db = pool
    ? new Kysely<never>({ dialect: new PostgresDialect({ pool }) })
    : new Kysely<never>({ dialect: new PGliteDialect({ pglite: new PGlite() }) });
  return {
    db: db as unknown as Db,
    async close() {
      await db.destroy();
      await database.drop();
    },
  };
}

/** A migrated database of the calling test file's own: opened before its tests, dropped after them. */
export function migratedDatabasePerFile(use: (db: Db) => void): void {
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const opened = await openTestDb();
    close = opened.close;
    await migrateToLatest(opened.db);
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
