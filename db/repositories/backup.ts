import { sql } from 'kysely';
import type { Db } from '../database.ts';

/**
 * The SQL behind `tessera backup` and `tessera restore`, for whatever tables the migrations made
 * (found in the catalog, so a table a later migration adds is carried without a change here).
 * Rules this file enforces:
 * - the snapshot is ONE statement with no parameters: Postgres gives a statement one snapshot, so
 *   every table is read at the same instant; and over the embedded server's socket a
 *   parameterless query is one protocol message, which PGlite runs without interleaving;
 * - rows travel as Postgres's own JSON text (row_to_json / json_populate_recordset), never
 *   parsed by JavaScript, so bigints, timestamps and json payloads come back exactly;
 * - loading disables user triggers (nothing bumps or audits while a copy is put back) and
 *   inserts parents before children, so foreign keys hold at every step.
 */
/** Kysely's bookkeeping: the migration state travels separately, as the list of names. */
const MIGRATOR_TABLES = ['kysely_migration', 'kysely_migration_lock'];
const ROWS_PER_BATCH = 500;

export interface Snapshot {
  /** False when the statement ran inside another session's open transaction that had written. */
  clean: boolean;
  migrations: string[];
  sequences: { name: string; last_value: string | null }[];
  /** Per table, its rows as JSON arrays of up to ROWS_PER_BATCH objects. */
  tables: Record<string, string[]>;
}

/** The application's tables in the current schema, by name. */
export async function listTables(db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = current_schema() and table_type = 'BASE TABLE'
    order by table_name`.execute(db);
  return rows.map((r) => r.name).filter((name) => !MIGRATOR_TABLES.includes(name));
}

/** Reads the migration state, sequences and every row of `tables` in one statement. */
export async function readSnapshot(db: Db, tables: string[]): Promise<Snapshot> {
  const batch = sql.lit(ROWS_PER_BATCH);
  const perTable = tables.map(
    (table, i) => sql`array(
      select json_agg(b.row)::text from (
        select row_to_json(t) as row, (row_number() over () - 1) / ${batch} as n from ${sql.table(table)} t
      ) b group by b.n
    ) as ${sql.id(`t${i}`)}`,
  );
  // pg_current_xact_id_if_assigned() is set only inside a transaction that has written: through
  // the embedded socket, that would be the server's own, and its uncommitted rows must not be copied.
  const { rows } = await sql<Record<string, unknown>>`
    select
      pg_current_xact_id_if_assigned() is null as clean,
      array(select name from kysely_migration order by name) as migrations,
      array(
        select json_build_object('name', sequencename, 'last_value', last_value::text)::text
        from pg_sequences where schemaname = current_schema() order by sequencename
      ) as sequences
      ${perTable.length ? sql`, ${sql.join(perTable)}` : sql``}`.execute(db);
  const row = rows[0] ?? {};
  return {
    clean: row.clean === true,
    migrations: row.migrations as string[],
    sequences: (row.sequences as string[]).map((s) => JSON.parse(s)),
    tables: Object.fromEntries(tables.map((table, i) => [table, row[`t${i}`] as string[]])),
  };
}

/** Whether the migrations table exists at all (a database Tessera never set up has none). */
export async function hasMigrationTable(db: Db): Promise<boolean> {
  const { rows } = await sql<{ found: boolean }>`select to_regclass('kysely_migration') is not null as found`.execute(
    db,
  );
  return rows[0]?.found === true;
}

/** How many tables of any kind the current schema holds: restore wants none. */
export async function countTables(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from information_schema.tables where table_schema = current_schema()`.execute(db);
  return rows[0]?.n ?? 0;
}

/** `tables` ordered so that every table comes after the tables its foreign keys point to. */
export async function orderByDependencies(db: Db, tables: string[]): Promise<string[]> {
  const { rows } = await sql<{ child: string; parent: string }>`
    select ch.relname as child, pa.relname as parent
    from pg_constraint c
    join pg_class ch on ch.oid = c.conrelid
    join pg_class pa on pa.oid = c.confrelid
    where c.contype = 'f' and ch.relnamespace = current_schema()::regnamespace`.execute(db);
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (table: string) => {
    if (ordered.includes(table) || visiting.has(table)) return;
    visiting.add(table);
    for (const { child, parent } of rows) if (child === table && parent !== table) visit(parent);
    ordered.push(table);
  };
  for (const table of tables) visit(table);
  return ordered.filter((t) => tables.includes(t));
}

/** Empties `tables` (the rows migrations seed) and stops their user triggers until `enableTriggers`. */
export async function emptyTablesForLoading(trx: Db, tables: string[]): Promise<void> {
  for (const table of tables) await sql`alter table ${sql.table(table)} disable trigger user`.execute(trx);
  if (tables.length) await sql`truncate table ${sql.join(tables.map((t) => sql.table(t)))}`.execute(trx);
}

export async function enableTriggers(trx: Db, tables: string[]): Promise<void> {
  for (const table of tables) await sql`alter table ${sql.table(table)} enable trigger user`.execute(trx);
}

/** Inserts one batch (a JSON array of row objects, as `readSnapshot` gave it); answers the rows inserted. */
export async function insertRows(trx: Db, table: string, rowsJson: string): Promise<number> {
  const result = await sql`
    insert into ${sql.table(table)} overriding system value
    select * from json_populate_recordset(null::${sql.table(table)}, ${rowsJson}::json)`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/** Puts a sequence back where it was, so ids handed out before the backup are not handed out again. */
export async function setSequence(trx: Db, name: string, lastValue: string): Promise<void> {
  await sql`select setval(quote_ident(${name})::regclass, ${lastValue}::bigint, true)`.execute(trx);
}
