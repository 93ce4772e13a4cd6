import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Kysely, sql } from 'kysely';
import pg from 'pg';
import { type Database, openDatabase } from '../../db/database.ts';
import { createEmbeddedSession } from '../../db/embedded-session.ts';

/**
 * The embedded database's Unix socket, which the server opens for the CLI, faces clients that
 * misbehave: they hang up at once, send garbage, or crowd past its connection limit. The server
 * process (here, this test's) must survive every one of them, and the CLI must still get in.
 * PGlite being one session, the CLI's statements and the server's must take turns, whole
 * exchanges and whole transactions at a time. These tests need no PostgreSQL and run on every run.
 */
let dataDir: string;
let server: Database;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tessera-socket-'));
  server = await openDatabase({ databaseUrl: undefined, dataDir, role: 'server' });
});

afterAll(async () => {
  await server?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const socketPath = () => join(dataDir, '.s.PGSQL.5432');

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath());
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('the embedded database socket', () => {
  it('survives clients that hang up at once, send garbage, or crowd past its limit', async () => {
    const crowd = await Promise.all(Array.from({ length: 100 }, () => open().catch(() => undefined)));
    await Promise.all(
      crowd.map(async (socket, i) => {
        if (!socket) return;
        socket.on('error', () => {});
        if (i % 2 === 0) socket.write(Buffer.from('not the postgres protocol at all\0\0\0\0'));
        socket.destroy();
      }),
    );
    // Give the server a moment to meet every hang-up it has not met yet.
    await new Promise((r) => setTimeout(r, 500));

    const cli = await openDatabase({ databaseUrl: undefined, dataDir, role: 'cli' });
    try {
      expect(cli.mode).toBe('socket');
      const { rows } = await sql<{ answer: number }>`select 42 as answer`.execute(cli.db);
      expect(rows).toEqual([{ answer: 42 }]);
    } finally {
      await cli.close();
    }
  });
});

/** A CLI-like client: pg over the server's socket, as the CLI connects. */
async function cliClient(): Promise<pg.Client> {
  const client = new pg.Client({ host: dataDir, port: 5432, user: 'postgres', database: 'postgres' });
  await client.connect();
  return client;
}

describe('the CLI and the server on one embedded session', () => {
  it('take turns: large parameterised statements and transactions from both sides never interleave', async () => {
    await sql`create table cli_rows (batch int not null, n int not null)`.execute(server.db);
    await sql`create table server_rows (i int not null)`.execute(server.db);
    const cli = await cliClient();
    const rowsPerBatch = 2_500; // 5,000 parameters a statement
    const cliWork = (async () => {
      for (let batch = 0; batch < 12; batch++) {
        const values = Array.from({ length: rowsPerBatch }, (_, n) => `($${2 * n + 1}, $${2 * n + 2})`).join(', ');
        const params = Array.from({ length: rowsPerBatch }, (_, n) => [batch, n]).flat();
        const inTransaction = batch % 3 !== 0;
        if (inTransaction) await cli.query('begin');
        await cli.query(`insert into cli_rows (batch, n) values ${values}`, params);
        if (inTransaction) {
          const { rows } = await cli.query('select count(*)::int as count from cli_rows where batch = $1', [batch]);
          expect(rows[0].count).toBe(rowsPerBatch);
          await cli.query(batch % 3 === 1 ? 'commit' : 'rollback');
        }
      }
    })();
    // The server keeps 100 queries and transactions at once in flight for as long as the CLI works.
    let cliDone = false;
    let serverTransactions = 0;
    const serverWork = (async () => {
      for (let wave = 0; !cliDone || wave < 2; wave++) {
        // PGlite answers in-process without I/O: let the socket's data in between waves.
        await new Promise((resolve) => setImmediate(resolve));
        await Promise.all(
          Array.from({ length: 100 }, async (_, i) => {
            if (i % 2 === 0) {
              const { rows } = await sql<{ i: number }>`select ${i}::int as i, ${'x'.repeat(i)}::text as pad`.execute(
                server.db,
              );
              expect(rows[0]?.i).toBe(i);
              return;
            }
            const key = wave * 100 + i;
            await server.db.transaction().execute(async (trx) => {
              await sql`insert into server_rows (i) values (${key})`.execute(trx);
              const { rows } = await sql<{
                count: number;
              }>`select count(*)::int as count from server_rows where i = ${key}`.execute(trx);
              expect(rows).toEqual([{ count: 1 }]);
            });
            serverTransactions++;
          }),
        );
      }
    })();
    try {
      await Promise.all([cliWork.finally(() => (cliDone = true)), serverWork]);
    } finally {
      cliDone = true;
      await cli.end();
    }
    // Batches 0, 3, 6, 9 ran alone, 1, 4, 7, 10 committed, the rest rolled back.
    const { rows: batches } = await sql<{ batch: number; count: number }>`
      select batch, count(*)::int as count from cli_rows group by batch order by batch`.execute(server.db);
    expect(batches).toEqual([0, 1, 3, 4, 6, 7, 9, 10].map((batch) => ({ batch, count: rowsPerBatch })));
    const { rows: serverRows } = await sql<{ count: number }>`select count(*)::int as count from server_rows`.execute(
      server.db,
    );
    expect(serverRows).toEqual([{ count: serverTransactions }]);
  });

  it('carries on within seconds when a CLI process is killed in the middle of its transaction', async () => {
    await sql`create table killed_rows (n int not null)`.execute(server.db);
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import pg from 'pg';
        const client = new pg.Client({ host: process.argv[1], port: 5432, user: 'postgres', database: 'postgres' });
        await client.connect();
        await client.query('begin');
        await client.query('insert into killed_rows (n) values (1)');
        console.log('inside');
        setInterval(() => {}, 1000);`,
        dataDir,
      ],
      { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = await once(child.stdout, 'data');
    expect(String(line)).toContain('inside');
    // While the CLI's transaction is open, the server waits its turn.
    const waiting = sql<{ count: number }>`select count(*)::int as count from killed_rows`.execute(server.db);
    child.kill('SIGKILL');
    const started = Date.now();
    const { rows } = await waiting;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(rows).toEqual([{ count: 0 }]);
    // The socket takes the CLI again.
    const cli = await cliClient();
    try {
      expect((await cli.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await cli.end();
    }
  });

  it('aborts, not commits, the statement of a client that hangs up between its Execute and its Sync', async () => {
    await sql`create table cut_short_rows (n int not null)`.execute(server.db);
    const socket = await open();
    const answers: Buffer[] = [];
    socket.on('data', (data) => answers.push(data));
    const answered = (type: string) =>
      new Promise<void>((resolve) => {
        const check = () => (Buffer.concat(answers).includes(type) ? resolve() : socket.once('data', check));
        check();
      });
    const cstr = (text: string) => Buffer.from(`${text}\0`);
    const int16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
    const message = (type: string, ...parts: Buffer[]) => {
      const body = Buffer.concat(parts);
      const length = Buffer.alloc(4);
      length.writeInt32BE(body.length + 4);
      return Buffer.concat([Buffer.from(type), length, body]);
    };
    const startup = Buffer.concat([Buffer.from([0, 3, 0, 0]), cstr('user'), cstr('postgres'), Buffer.from([0])]);
    const startupLength = Buffer.alloc(4);
    startupLength.writeInt32BE(startup.length + 4);
    socket.write(Buffer.concat([startupLength, startup]));
    await answered('Z');
    // Parse, Bind and Execute an insert, then hang up before the Sync that would commit it.
    socket.write(
      Buffer.concat([
        message('P', cstr(''), cstr('insert into cut_short_rows (n) values (1)'), int16(0)),
        message('B', cstr(''), cstr(''), int16(0), int16(0), int16(0)),
        message('E', cstr(''), Buffer.alloc(4)),
      ]),
    );
    await answered('INSERT');
    socket.destroy();
    const { rows } = await sql<{ count: number }>`select count(*)::int as count from cut_short_rows`.execute(server.db);
    expect(rows).toEqual([{ count: 0 }]);
  });

  it('cuts off a CLI connection that holds the session and falls silent, and says so', async () => {
    const pglite = await PGlite.create();
    const warnings: string[] = [];
    const session = createEmbeddedSession(pglite, { holdTimeoutMs: 500, warn: (message) => warnings.push(message) });
    const db = new Kysely<Record<string, never>>({ dialect: session.dialect });
    const dir = await mkdtemp(join(tmpdir(), 'tessera-silent-'));
    const socketServer = new PGLiteSocketServer({ db: session.socketDb, path: join(dir, '.s.PGSQL.5432') });
    session.serve(socketServer);
    await socketServer.start();
    try {
      await sql`create table silent_rows (n int not null)`.execute(db);
      const silent = new pg.Client({ host: dir, port: 5432, user: 'postgres', database: 'postgres' });
      const closed = new Promise((resolve) => silent.on('error', resolve));
      await silent.connect();
      await silent.query('begin');
      await silent.query('insert into silent_rows (n) values (1)');
      const { rows } = await sql<{ count: number }>`select count(*)::int as count from silent_rows`.execute(db);
      expect(rows).toEqual([{ count: 0 }]);
      expect(warnings).toEqual([expect.stringContaining('held the embedded database 0.5 s without a word')]);
      await closed;
      await expect(silent.query('commit')).rejects.toThrow();
    } finally {
      await socketServer.stop();
      session.stop();
      await db.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
