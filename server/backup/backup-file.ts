import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { sha256 } from '../secrets.ts';

/**
 * The backup file: gzip'd lines of JSON. The first line is the header (format, migration state,
 * row counts, sequences, the secret key or its fingerprint); each further line is one batch of a
 * table's rows, `{"table": …, "rows": "<JSON array as Postgres wrote it>"}`; the last is
 * `{"end": true}`. Rules this file enforces: a file is accepted whole or not at all (gzip's CRC,
 * the end line and the row counts catch corruption and truncation), and each table's rows stay
 * the text Postgres produced, so no value is rounded on the way through JavaScript.
 */
export const BACKUP_FORMAT = 'tessera-backup';

const header = z.object({
  format: z.literal(BACKUP_FORMAT),
  version: z.literal(1),
  created_at: z.string(),
  /** Applied migrations, in order: the schema the rows fit. */
  migrations: z.array(z.string().min(1)).min(1),
  tables: z.array(z.object({ name: z.string().min(1), rows: z.number().int().nonnegative() })),
  sequences: z.array(
    z.object({
      name: z.string().min(1),
      last_value: z
        .string()
        .regex(/^-?\d+$/)
        .nullable(),
    }),
  ),
  /** DATA_DIR's generated key; absent when SECRET_KEY came from the environment. */
  secret_key: z.string().min(32).optional(),
  /** Tells whether a SECRET_KEY given at restore is the one the data was encrypted with. */
  secret_key_check: z.string().min(1),
});

export type BackupHeader = z.infer<typeof header>;

export interface Backup {
  header: BackupHeader;
  /** Per table, its batches of rows as JSON array text. */
  batches: Map<string, string[]>;
}

const batchLine = z.object({ table: z.string().min(1), rows: z.string().startsWith('[') });

export async function encodeBackup(backup: Backup): Promise<Buffer> {
  const lines = [JSON.stringify(backup.header)];
  for (const [table, batches] of backup.batches) {
    for (const rows of batches) lines.push(JSON.stringify({ table, rows }));
  }
  lines.push(JSON.stringify({ end: true }));
  return promisify(gzip)(`${lines.join('\n')}\n`);
}

/** Reads a whole backup, or throws an `invalid_input` AppError saying what is wrong with it. */
export async function decodeBackup(file: string, content: Buffer): Promise<Backup> {
  const text = await promisify(gunzip)(content).then(
    (b) => b.toString('utf8'),
    () => {
      throw new AppError(
        'invalid_input',
        `${file} is not a Tessera backup, or it is damaged (not a complete gzip file)`,
      );
    },
  );
  const lines = text.split('\n').filter((line) => line !== '');
  const parsed = header.safeParse(parseJson(lines[0]));
  if (!parsed.success) throw new AppError('invalid_input', `${file} is not a Tessera backup (no valid header)`);
  if (lines.at(-1) !== JSON.stringify({ end: true })) {
    throw new AppError('invalid_input', `${file} is truncated (no end marker)`);
  }
  const counts = new Map(parsed.data.tables.map((t) => [t.name, 0]));
  const batches = new Map<string, string[]>(parsed.data.tables.map((t) => [t.name, []]));
  for (const line of lines.slice(1, -1)) {
    const batch = batchLine.safeParse(parseJson(line));
    const rows = batch.success ? parseJson(batch.data.rows) : undefined;
    if (!batch.success || !Array.isArray(rows) || !batches.has(batch.data.table)) {
      throw new AppError('invalid_input', `${file} is damaged (a line of rows does not read)`);
    }
    batches.get(batch.data.table)?.push(batch.data.rows);
    counts.set(batch.data.table, (counts.get(batch.data.table) ?? 0) + rows.length);
  }
  for (const { name, rows } of parsed.data.tables) {
    if (counts.get(name) !== rows) {
      throw new AppError('invalid_input', `${file} is damaged (table ${name}: ${counts.get(name)} of ${rows} rows)`);
    }
  }
  return { header: parsed.data, batches };
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A fingerprint of the secret key, safe to keep beside the data it protects. */
export const secretKeyCheck = (key: string) => sha256(`tessera backup key check\0${key}`);
