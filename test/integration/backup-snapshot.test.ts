import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type Database, openDatabase } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrator.ts';
import { decodeBackup } from '../../server/backup/backup-file.ts';
import { createBackup } from '../../server/backup/create-backup.ts';
import { type Config, loadConfig } from '../../server/config.ts';
import { resolveSecretKey } from '../../server/secrets.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/**
 * A backup copies committed rows only. On the embedded database the backup's statement reaches
 * PGlite through the server's socket and can land inside a transaction the server has open (one
 * PGlite session serves both); it must not copy what that transaction wrote and may yet undo.
 */
let database: TestDatabase;
let server: Database;
let config: Config;
let work: string;

beforeAll(async () => {
  database = await createTestDatabase();
  config = loadConfig(database.env);
  await resolveSecretKey(config);
  // The server's side: in embedded mode it serves the database on DATA_DIR's socket.
  server = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, role: 'server' });
  await migrateToLatest(server.db);
  await server.db.insertInto('users').values({ id: 'usr_kept', email: 'kept@example.com' }).execute();
  work = await mkdtemp(join(tmpdir(), 'tessera-snapshot-'));
});

afterAll(async () => {
  await server?.close();
  await database?.drop();
  if (work) await rm(work, { recursive: true, force: true });
});

class Undo extends Error {}

describe('tessera backup', () => {
  it('leaves out rows of a transaction still open while it reads, which then rolls back', async () => {
    let undo = () => {};
    const undone = new Promise<void>((resolve) => {
      undo = resolve;
    });
    const open = server.db
      .transaction()
      .execute(async (trx) => {
        await trx.insertInto('users').values({ id: 'usr_ghost', email: 'ghost@example.com' }).execute();
        await undone;
        throw new Undo();
      })
      .catch((err: unknown) => {
        if (!(err instanceof Undo)) throw err;
      });
    await sleep(50);

    const file = join(work, 'during.backup');
    const backup = createBackup(config, file);
    // The backup reads (and, through the socket, retries) while the transaction stays open.
    await sleep(1_500);
    undo();
    await open;
    expect((await backup).tables.users).toBe(1);

    const { batches } = await decodeBackup(file, await readFile(file));
    const users = (batches.get('users') ?? []).flatMap((rows) => JSON.parse(rows) as { id: string }[]);
    expect(users.map((u) => u.id)).toEqual(['usr_kept']);
  });
});
