import { existsSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Database, openDatabase } from '../../db/database.ts';
import { hasMigrationTable, listTables, readSnapshot, type Snapshot } from '../../db/repositories/backup.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { BACKUP_FORMAT, encodeBackup, secretKeyCheck } from './backup-file.ts';

/**
 * `tessera backup FILE`: one consistent snapshot of every table, with the migration state and the
 * secret key, written to FILE with mode 0600. Rules this file enforces:
 * - it never migrates or otherwise changes the database it copies;
 * - it works beside a running server (embedded: through its socket; PostgreSQL: as one more
 *   client) and without one;
 * - FILE appears whole or not at all: it is written beside itself and renamed into place;
 * - in embedded mode the generated DATA_DIR/secret-key goes into the file, since nothing
 *   encrypted in the database can be read without it; a SECRET_KEY from the environment does
 *   not (the operator keeps that one), only a fingerprint to check it against at restore.
 */
export interface BackupSummary {
  file: string;
  created_at: string;
  migration: string;
  tables: Record<string, number>;
  secret_key_included: boolean;
}

// Through the embedded socket the statement can land inside a transaction of the server's own;
// it is then read again after a pause, until the server is between transactions.
const SNAPSHOT_ATTEMPTS = 100;
const SNAPSHOT_PAUSE_MS = 50;

export async function createBackup(config: Config, file: string): Promise<BackupSummary> {
  if (!config.databaseUrl && !existsSync(join(config.dataDir, 'pgdata'))) {
    throw new AppError('not_found', `${config.dataDir} holds no Tessera database (set DATA_DIR to the server's)`);
  }
  const key = await secretKeyOf(config);
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, role: 'cli' });
  let snapshot: Snapshot;
  try {
    snapshot = await takeSnapshot(database);
  } finally {
    await database.close();
  }
  const created_at = new Date().toISOString();
  const counts = Object.entries(snapshot.tables).map(([name, batches]) => ({ name, rows: countRows(batches) }));
  const content = await encodeBackup({
    header: {
      format: BACKUP_FORMAT,
      version: 1,
      created_at,
      migrations: snapshot.migrations,
      tables: counts,
      sequences: snapshot.sequences,
      ...(key.carried ? { secret_key: key.value } : {}),
      secret_key_check: secretKeyCheck(key.value),
    },
    batches: new Map(Object.entries(snapshot.tables)),
  });
  const target = resolve(file);
  await writeWhole(target, content);
  return {
    file: target,
    created_at,
    migration: snapshot.migrations.at(-1) ?? '',
    tables: Object.fromEntries(counts.map(({ name, rows }) => [name, rows])),
    secret_key_included: key.carried,
  };
}

async function secretKeyOf(config: Config): Promise<{ value: string; carried: boolean }> {
  if (config.secretKey) return { value: config.secretKey, carried: false };
  const value = (await readFile(join(config.dataDir, 'secret-key'), 'utf8').catch(() => '')).trim();
  if (!value) throw new AppError('not_found', `${config.dataDir} has no secret-key (set DATA_DIR to the server's)`);
  return { value, carried: true };
}

async function takeSnapshot(database: Database): Promise<Snapshot> {
  if (!(await hasMigrationTable(database.db))) {
    throw new AppError('not_found', 'the database holds no Tessera data (it was never migrated)');
  }
  const tables = await listTables(database.db);
  for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
    const snapshot = await readSnapshot(database.db, tables);
    if (snapshot.clean) return snapshot;
    await sleep(SNAPSHOT_PAUSE_MS);
  }
  throw new AppError('conflict', 'the server stayed inside a transaction; try the backup again');
}

/** Writes beside the target and renames, so a crash never leaves a partial backup under its name. */
async function writeWhole(target: string, content: Buffer): Promise<void> {
  const partial = `${target}.partial-${process.pid}`;
  try {
    await writeFile(partial, content, { mode: 0o600, flag: 'wx' });
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      throw new AppError('invalid_input', `cannot write ${target} (${code})`);
    }
    throw err;
  }
}

const countRows = (batches: string[]) => batches.reduce((n, rows) => n + (JSON.parse(rows) as unknown[]).length, 0);
