import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Kysely, PGliteDialect, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Schema } from './schema.ts';

export type Db = Kysely<Schema>;

export interface Database {
  readonly db: Db;
  /** `postgres` over DATABASE_URL, `embedded` for PGlite in this process, `socket` for PGlite served by a running server. */
  readonly mode: 'postgres' | 'embedded' | 'socket';
  close(): Promise<void>;
}

interface Options {
  databaseUrl: string | undefined;
  dataDir: string;
  /** The server serves its embedded database to the CLI; the CLI connects to it when it can. */
  role: 'server' | 'cli';
  poolSize?: number;
}

// pg connects to a Unix socket at `${host}/.s.PGSQL.${port}`, so the server puts PGlite's there.
const SOCKET_PORT = 5432;
const socketPath = (dataDir: string) => join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);

export async function openDatabase(options: Options): Promise<Database> {
  if (options.databaseUrl) {
    return overPg(new pg.Pool({ connectionString: options.databaseUrl, max: options.poolSize ?? 10 }), 'postgres');
  }
  if (options.role === 'cli' && (await socketAnswers(socketPath(options.dataDir)))) {
    return overPg(
      new pg.Pool({ host: options.dataDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max: 1 }),
      'socket',
    );
  }
  if (options.role === 'server' && (await socketAnswers(socketPath(options.dataDir)))) {
    // Two processes opening one PGlite directory would corrupt it.
    throw new Error(
      `another Tessera server is already running on ${options.dataDir}; stop it, or set DATABASE_URL to run several nodes`,
    );
  }
  return embedded(options.dataDir, options.role === 'server');
}

function overPg(pool: pg.Pool, mode: 'postgres' | 'socket'): Database {
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { db, mode, close: () => db.destroy() };
}

async function embedded(dataDir: string, serve: boolean): Promise<Database> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const pglite = await PGlite.create(join(dataDir, 'pgdata'));
  const db = new Kysely<Schema>({ dialect: new PGliteDialect({ pglite }) });
  let server: PGLiteSocketServer | undefined;
  if (serve) {
    server = new PGLiteSocketServer({ db: pglite, path: socketPath(dataDir), maxConnections: 8 });
    await server.start();
  }
  return {
    db,
    mode: 'embedded',
    async close() {
      await server?.stop();
      await db.destroy();
    },
  };
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
