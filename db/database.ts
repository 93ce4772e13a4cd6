import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { PGliteOptions } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { createEmbeddedSession } from './embedded-session.ts';
import { statementName } from './prepared-query.ts';
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
  /** Told when a connection fails outside any query (the server restarted, the network dropped it). */
  onConnectionError?: (err: Error) => void;
  /** Told when the server cuts off a CLI connection that kept the embedded database to itself. */
  onSocketWarning?: (message: string) => void;
}

/**
 * How long a caller may wait on PostgreSQL: for a connection (a new one, or a free one from a busy
 * pool) and, in the server, for one statement. A database that is down, refusing or stalled then
 * costs a request a few seconds and a 503, never a hang. Migrations lift the statement limit.
 */
export const CONNECT_TIMEOUT_MS = 3_000;
export const STATEMENT_TIMEOUT_MS = 5_000;

/** Runs `work` in the caller's transaction, or in a new one. */
export function inTransaction<T>(db: Db, work: (trx: Db) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

const DEADLOCK_ATTEMPTS = 3;

/**
 * Runs a write again when PostgreSQL ended it to break a deadlock (40P01), as PostgreSQL advises.
 * Two rows trading values of a unique column at once each wait on the other's index entry. For
 * a statement of its own only: inside a transaction the deadlock has already aborted the rest.
 */
export async function retryingDeadlocks<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== '40P01' || attempt >= DEADLOCK_ATTEMPTS) throw err;
    }
  }
}

// pg connects to a Unix socket at `${host}/.s.PGSQL.${port}`, so the server puts PGlite's there.
const SOCKET_PORT = 5432;
export const socketPath = (dataDir: string) => join(dataDir, `.s.PGSQL.${SOCKET_PORT}`);

export async function openDatabase(options: Options): Promise<Database> {
  const { dataDir, role, onConnectionError = () => {} } = options;
  const limits: pg.PoolConfig = {
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    ...(role === 'server' ? { statement_timeout: STATEMENT_TIMEOUT_MS } : {}),
  };
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      Client: PreparingClient,
      ...limits,
    });
    return overPg(pool, 'postgres', onConnectionError);
  }
  const socket = socketPath(dataDir);
  const viaSocket = () =>
    overPg(
      new pg.Pool({ host: dataDir, port: SOCKET_PORT, user: 'postgres', database: 'postgres', max: 1, ...limits }),
      'socket',
      onConnectionError,
    );
  if (role === 'cli' && (await socketAnswers(socket))) return viaSocket();

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lock = await takeLock(dataDir);
  if (typeof lock === 'number') {
    // Two processes opening one PGlite directory would corrupt it: a server refuses, and the CLI
    // waits for a server that is still starting to open its socket.
    if (role === 'cli' && (await socketAnswersWithin(socket, 15_000))) return viaSocket();
    throw new Error(
      role === 'server'
        ? `another Tessera process (pid ${lock}) is using ${dataDir}; stop it, or set DATABASE_URL to run several nodes`
        : `${dataDir} is in use by process ${lock}, which serves no socket; try again when it has finished`,
    );
  }
  try {
    return await embedded(dataDir, role === 'server', lock, options.onSocketWarning);
  } catch (err) {
    await lock();
    throw err;
  }
}

/**
 * A pg client that keeps the hot statements (db/prepared-query.ts) prepared on its connection:
 * PostgreSQL then parses and plans each once per connection, not on every token request, on the
 * same cores as the server.
 */
class PreparingClient extends pg.Client {
  // biome-ignore lint/suspicious/noExplicitAny: pg's overloads of query cannot be forwarded by type.
  override query(...args: any[]): any {
    const [text, values] = args;
    const name = typeof text === 'string' && args.length === 2 ? statementName(text) : undefined;
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    return name ? super.query({ name, text, values }) : (super.query as (...a: any[]) => any)(...args);
  }
}

function overPg(pool: pg.Pool, mode: 'postgres' | 'socket', onConnectionError: (err: Error) => void): Database {
  // A client whose server goes away emits 'error', and an 'error' nobody listens to ends the
  // process. pg-pool listens only while a client is idle; one checked out (between two statements
  // of a transaction, say) is ours to cover, so every client gets a listener for its whole life.
  // The query in flight, or the next checkout, reports the failure to its caller; the pool drops
  // the broken client and connects anew once the server is back.
  pool.on('error', onConnectionError);
  pool.on('connect', (client) => client.on('error', onConnectionError));
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return { db, mode, close: () => db.destroy() };
}

const EMBEDDED_SHARED_BUFFERS = '32MB';

/**
 * How an embedded database is opened, by the server and by anything that must build one the same
 * way (the tests' migrated template). PGlite is imported here: a node on PostgreSQL never loads it.
 */
export async function embeddedPgliteOptions(): Promise<PGliteOptions> {
  const { PGlite } = await import('@electric-sql/pglite');
  // pg_trgm: the index behind searching users by part of a name (migration 20261130T1810).
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  return {
    // PostgreSQL's default 128 MB of shared buffers lives in the process's WebAssembly memory,
    // which never shrinks; a small deployment's working set fits in far less.
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${EMBEDDED_SHARED_BUFFERS}`],
    extensions: { pg_trgm },
  };
}

async function embedded(
  dataDir: string,
  serve: boolean,
  unlock: () => Promise<void>,
  warn?: (message: string) => void,
): Promise<Database> {
  // Imported here: a node on PostgreSQL never loads PGlite.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const pglite = await PGlite.create(join(dataDir, 'pgdata'), await embeddedPgliteOptions());
  const session = createEmbeddedSession(pglite, { warn });
  const db = new Kysely<Schema>({ dialect: session.dialect });
  let server: PGLiteSocketServer | undefined;
  if (serve) {
    await rm(socketPath(dataDir), { force: true });
    server = new PGLiteSocketServer({ db: session.socketDb, path: socketPath(dataDir), maxConnections: 8 });
    session.serve(server);
    await server.start();
    guardSockets(server);
  }
  return {
    db,
    mode: 'embedded',
    async close() {
      await server?.stop();
      session.stop();
      await db.destroy();
      await unlock();
    },
  };
}

/**
 * pglite-socket attaches its error listener to a client's socket a tick after accepting it, and
 * writes "Too many connections" to a socket it turns away with none at all: a client resetting
 * then would end the process with an unhandled 'error'. A listener of ours comes first on every
 * socket; the library still sees the error through its own once attached. The net server is a
 * private field of the library's, hence the check.
 */
function guardSockets(server: PGLiteSocketServer): void {
  const net = (server as unknown as { server?: unknown }).server;
  if (!(net instanceof Server)) throw new Error('pglite-socket changed: its net server is not where expected');
  net.prependListener('connection', (socket: Socket) => socket.on('error', () => {}));
}

/**
 * Takes DATA_DIR's lock file (our pid in it), or answers the pid of the live process holding it.
 * A lock left by a process that has died is taken over.
 */
async function takeLock(dataDir: string): Promise<(() => Promise<void>) | number> {
  const file = join(dataDir, 'tessera.lock');
  for (;;) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => rm(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(await readFile(file, 'utf8').catch(() => ''));
    if (holder && holder !== process.pid && isAlive(holder)) return holder;
    await rm(file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function socketAnswersWithin(path: string, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; ) {
    if (await socketAnswers(path)) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}
