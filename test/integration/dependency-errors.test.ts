import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../../db/database.ts';
import { AppError } from '../../server/errors.ts';
import { failedDependency } from '../../server/http/dependency-errors.ts';
import { migratedDatabasePerFile } from '../support/database.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { freePort } from '../support/tessera.ts';

/**
 * Which failures are answered 503 (a dependency is down, try again) and which stay errors. Every
 * case is a real failure of a real client: pg, ioredis, the file system, the database itself.
 */
const serverUrl = process.env.DATABASE_URL;
let db: Db;
migratedDatabasePerFile((opened) => {
  db = opened;
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );

async function pgFailure(config: pg.PoolConfig, query = 'select 1') {
  const pool = new pg.Pool({ ...config, connectionTimeoutMillis: 500 });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  try {
    return await failure(pool.query(query));
  } finally {
    await pool.end().catch(() => {});
  }
}

describe('a database that cannot be reached', () => {
  let silent: Server;
  const accepted = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never says a word: a server that hangs.
    silent = createServer((socket) => accepted.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('is the database when nothing listens (refused)', async () => {
    const err = await pgFailure({ host: '127.0.0.1', port: await freePort() });
    expect(failedDependency(err)).toBe('database');
  });

  it('is the database when a connection cannot be had in time', async () => {
    const { port } = silent.address() as { port: number };
    const err = await pgFailure({ host: '127.0.0.1', port });
    expect(failedDependency(err)).toBe('database');
  });

  it('is the database when its Unix socket is gone (the embedded server stopped)', async () => {
    const err = await pgFailure({ host: '/nonexistent-tessera-socket-dir', port: 5432 });
    expect(failedDependency(err)).toBe('database');
  });
});

// A server to cut off: only the PostgreSQL run has one (PGlite runs in this process).
if (serverUrl) {
  describe('a PostgreSQL server going away', () => {
    it('is the database when the connection drops mid-query', async () => {
      const target = new URL(serverUrl ?? '');
      const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
      try {
        const pending = pgFailure({ connectionString: proxy.url(serverUrl ?? '') }, 'select pg_sleep(5)');
        await new Promise((r) => setTimeout(r, 300));
        proxy.cut();
        expect(failedDependency(await pending)).toBe('database');
      } finally {
        await proxy.close();
      }
    });

    it('is the database when its backend is terminated (57P01, as in a restart) or a statement times out', async () => {
      const client = new pg.Client({ connectionString: serverUrl, statement_timeout: 200 });
      client.on('error', () => {});
      await client.connect();
      const timedOut = await failure(client.query('select pg_sleep(2)'));
      expect(timedOut).toMatchObject({ code: '57014' });
      expect(failedDependency(timedOut)).toBe('database');
      const terminated = await failure(client.query('select pg_terminate_backend(pg_backend_pid())'));
      expect(terminated).toMatchObject({ code: '57P01' });
      expect(failedDependency(terminated)).toBe('database');
      await client.end().catch(() => {});
    });
  });
}

describe('Redis that cannot be reached', () => {
  it('is Redis for a command refused while offline; its bare connection error is an outage too', async () => {
    const redis = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    const connectionError = new Promise<unknown>((resolve) => redis.once('error', resolve));
    const offline = await failure(redis.get('k'));
    expect(failedDependency(offline)).toBe('redis');
    // A bare socket error does not say whose socket it was; it is an outage all the same.
    expect(failedDependency(await connectionError)).toBeDefined();
    redis.disconnect();
  });
});

describe('failures that are not an outage', () => {
  it('stay errors: a unique violation, bad SQL, a missing file, our own errors', async () => {
    await sql`create table outage_probe (id int primary key)`.execute(db);
    await sql`insert into outage_probe values (1)`.execute(db);
    expect(failedDependency(await failure(sql`insert into outage_probe values (1)`.execute(db)))).toBeUndefined();
    expect(failedDependency(await failure(sql`select 1 / 0`.execute(db)))).toBeUndefined();
    expect(failedDependency(await failure(sql`select nonsense from nowhere`.execute(db)))).toBeUndefined();
    expect(failedDependency(await failure(readFile('/nonexistent/tessera.css')))).toBeUndefined();
    expect(failedDependency(new AppError('not_found', 'No such user.'))).toBeUndefined();
    expect(failedDependency(new Error('something else'))).toBeUndefined();
  });
});
