import { type Kysely, sql } from 'kysely';
import { type MigrationResultSet, Migrator } from 'kysely/migration';
import { migrations } from './migrations/index.ts';

/**
 * Applies every pending migration; Kysely's own lock keeps concurrent starts from racing. They run
 * on one connection without the server's statement_timeout: building an index on a large table
 * may rightly take longer than any request should.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const migrate = (on: Kysely<any>) =>
    new Migrator({ db: on, provider: { getMigrations: async () => migrations } }).migrateToLatest();
  // A caller's transaction (a restore) already holds its one connection; the limit ends with it.
  const { error, results }: MigrationResultSet = db.isTransaction
    ? await sql`set local statement_timeout = 0`.execute(db).then(() => migrate(db))
    : await db.connection().execute(async (connection) => {
        await sql`set statement_timeout = 0`.execute(connection);
        try {
          return await migrate(connection);
        } finally {
          await sql`reset statement_timeout`.execute(connection);
        }
      });
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`migration ${failed ?? ''} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  return (results ?? []).map((r) => r.migrationName);
}

/** Applies (or undoes) migrations up to and including `name`, the state a restored backup was taken in. */
export async function migrateTo(db: Kysely<any>, name: string): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error } = await migrator.migrateTo(name);
  if (error) throw new Error(`migration to ${name} failed: ${error instanceof Error ? error.message : String(error)}`);
}
