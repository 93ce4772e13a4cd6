import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sql } from 'kysely';
import { type Database, openDatabase } from '../../db/database.ts';

/**
 * The embedded database's Unix socket, which the server opens for the CLI, faces clients that
 * misbehave: they hang up at once, send garbage, or crowd past its connection limit. The server
 * process (here, this test's) must survive every one of them, and the CLI must still get in.
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
