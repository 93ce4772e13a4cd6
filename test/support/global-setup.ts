import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import { embeddedPgliteOptions } from '../../db/database.ts';
import { migrateToLatest } from '../../db/migrator.ts';

/**
 * Once before the test files, on the embedded database: a PGlite database, opened as the server
 * opens one (its extensions and settings) and migrated to the latest schema, kept as a data
 * directory (for servers) and as a tarball (for databases in a test's own process). Every migrated
 * test database starts as a copy: PGlite's initdb costs seconds of CPU each time, a copy
 * milliseconds, and a run makes some seventy databases. The workers find it through the
 * environment they inherit; the global teardown removes it.
 */
export const TEMPLATE_ENV = 'TESSERA_TEST_TEMPLATE';

/** The template's folder: `pgdata/` and `pgdata.tar`. */
export function templateDir(): string {
  const dir = process.env[TEMPLATE_ENV];
  if (!dir) throw new Error(`${TEMPLATE_ENV} is not set: run the tests with npm test, whose global setup makes it`);
  return dir;
}

export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const template = await mkdtemp(join(tmpdir(), 'tessera-test-template-'));
  try {
    await makeTemplate(template);
  } catch (err) {
    await rm(template, { recursive: true, force: true });
    throw err;
  }
  process.env[TEMPLATE_ENV] = template;
}

async function makeTemplate(template: string): Promise<void> {
  const pglite = await PGlite.create(join(template, 'pgdata'), await embeddedPgliteOptions());
  try {
    await migrateToLatest(new Kysely<never>({ dialect: new PGliteDialect({ pglite }) }));
    const tarball = await pglite.dumpDataDir('none');
    await writeFile(join(template, 'pgdata.tar'), Buffer.from(await tarball.arrayBuffer()));
  } finally {
    await pglite.close();
  }
}
