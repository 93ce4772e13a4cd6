import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { type Db, openDatabase, socketAnswers, socketPath } from '../../db/database.ts';
import { migrations } from '../../db/migrations/index.ts';
import { migrateTo, migrateToLatest } from '../../db/migrator.ts';
import {
  countTables,
  emptyTablesForLoading,
  enableTriggers,
  insertRows,
  listTables,
  orderByDependencies,
  setSequence,
} from '../../db/repositories/backup.ts';
import type { Config } from '../config.ts';
import { AppError } from '../errors.ts';
import { type Backup, decodeBackup, secretKeyCheck } from './backup-file.ts';

/**
 * `tessera restore FILE`: brings a backup back into an empty DATA_DIR (embedded) or an empty
 * database (DATABASE_URL). Rules this file enforces:
 * - the whole file is read and checked before anything is written;
 * - a file from a newer Tessera (a migration this one does not know) is refused; an older one is
 *   loaded at its own schema, then migrated to the current one;
 * - a non-empty target, or a server running on DATA_DIR, is refused;
 * - everything happens in one transaction, and in embedded mode in a staging directory renamed
 *   into place at the end, so a failure leaves the target as empty as it was;
 * - the secret key comes back with the data (into DATA_DIR/secret-key, mode 0600), or a
 *   SECRET_KEY given in the environment must be the one the backup was made with.
 */
export interface RestoreSummary {
  restored_from: string;
  into: string;
  migration: string;
  /** Migrations applied after loading, when the backup came from an older Tessera. */
  applied: string[];
  tables: Record<string, number>;
}

export async function restoreBackup(config: Config, file: string): Promise<RestoreSummary> {
  const source = resolve(file);
  const backup = await decodeBackup(source, await readBackupFile(source));
  refuseNewerSchema(source, backup.header.migrations);
  const keyToWrite = secretKeyToWrite(config, backup);
  const loaded = config.databaseUrl
    ? await restoreIntoPostgres(config.databaseUrl, config.dataDir, source, backup)
    : await restoreIntoDataDir(config.dataDir, keyToWrite, source, backup);
  return {
    restored_from: source,
    into: config.databaseUrl ? 'DATABASE_URL' : config.dataDir,
    migration: backup.header.migrations.at(-1) ?? '',
    applied: loaded.applied,
    tables: loaded.tables,
  };
}

async function readBackupFile(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new AppError('not_found', `${file} does not exist`);
    throw new AppError('invalid_input', `cannot read ${file} (${code ?? 'unknown error'})`);
  }
}

function refuseNewerSchema(file: string, applied: string[]): void {
  const unknown = applied.find((name) => !(name in migrations));
  if (unknown) {
    throw new AppError(
      'invalid_input',
      `${file} comes from a newer Tessera (migration ${unknown} is unknown here); restore it with that version or later`,
    );
  }
}

/** The key to put in DATA_DIR, or none when SECRET_KEY is configured (and is the backup's). */
function secretKeyToWrite(config: Config, { header }: Backup): string | undefined {
  if (config.secretKey) {
    if (secretKeyCheck(config.secretKey) !== header.secret_key_check) {
      throw new AppError(
        'invalid_input',
        'SECRET_KEY is not the key this backup was made with; the restored secrets could not be read',
      );
    }
    return undefined;
  }
  if (!header.secret_key) {
    throw new AppError(
      'invalid_input',
      'this backup was made with SECRET_KEY set: set SECRET_KEY to that key to restore it',
    );
  }
  if (secretKeyCheck(header.secret_key) !== header.secret_key_check) {
    throw new AppError('invalid_input', 'the backup is damaged (its secret key does not match its fingerprint)');
  }
  return header.secret_key;
}

async function restoreIntoDataDir(dataDir: string, key: string | undefined, file: string, backup: Backup) {
  if (await socketAnswers(socketPath(dataDir))) {
    throw new AppError('conflict', `a Tessera server is running on ${dataDir}; stop it before restoring`);
  }
  if (!(await isEmptyOrMissing(dataDir))) {
    throw new AppError('conflict', `${dataDir} is not empty; restore only into a new or empty DATA_DIR`);
  }
  const staging = join(dirname(dataDir), `.${basename(dataDir)}.restoring-${process.pid}`);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  try {
    if (key) await writeFile(join(staging, 'secret-key'), key, { mode: 0o600, flag: 'wx' });
    const database = await openDatabase({ databaseUrl: undefined, dataDir: staging, role: 'cli' });
    let loaded: Loaded;
    try {
      loaded = await load(database.db, file, backup);
    } finally {
      await database.close();
    }
    await rename(staging, dataDir).catch((err: NodeJS.ErrnoException) => {
      throw err.code === 'ENOTEMPTY' || err.code === 'EEXIST'
        ? new AppError('conflict', `${dataDir} was written to while restoring; nothing was restored`)
        : err;
    });
    return loaded;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

async function restoreIntoPostgres(databaseUrl: string, dataDir: string, file: string, backup: Backup) {
  const database = await openDatabase({ databaseUrl, dataDir, role: 'cli' });
  try {
    if ((await countTables(database.db)) > 0) {
      throw new AppError(
        'conflict',
        'the database at DATABASE_URL is not empty; restore only into a new, empty database',
      );
    }
    return await load(database.db, file, backup);
  } finally {
    await database.close();
  }
}

interface Loaded {
  applied: string[];
  tables: Record<string, number>;
}

/** Schema at the backup's migration, the rows, the sequences, then the newer migrations: one transaction. */
async function load(db: Db, file: string, { header, batches }: Backup): Promise<Loaded> {
  return db.transaction().execute(async (trx) => {
    await migrateTo(trx, header.migrations.at(-1) ?? '');
    const tables = await listTables(trx);
    const expected = header.tables.map((t) => t.name).sort();
    if ([...tables].sort().join() !== expected.join()) {
      throw new AppError('invalid_input', `${file} does not match the schema of its own migration state`);
    }
    const ordered = await orderByDependencies(trx, tables);
    const counts: Record<string, number> = {};
    try {
      await emptyTablesForLoading(trx, ordered);
      for (const table of ordered) {
        counts[table] = 0;
        for (const rows of batches.get(table) ?? []) counts[table] += await insertRows(trx, table, rows);
      }
      for (const { name, last_value } of header.sequences) {
        if (last_value !== null) await setSequence(trx, name, last_value);
      }
      await enableTriggers(trx, ordered);
    } catch (err) {
      // Postgres's own words (a constraint, a type) are safe to show and say what is wrong.
      const message = (err as { message?: unknown }).message;
      throw new AppError('invalid_input', `${file} could not be loaded: ${String(message)}`);
    }
    const applied = await migrateToLatest(trx);
    return { applied, tables: counts };
  });
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code === 'ENOTDIR') return false;
    throw err;
  }
}
