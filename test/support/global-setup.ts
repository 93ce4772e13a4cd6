import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect } from 'kysely';
import { migrateToLatest } from '../../db/migrator.ts';

/**
 * Once before the test files: a folder for the whole run, which the workers find through the
 * environment they inherit. It holds what every test's servers and CLI commands would otherwise
 * make again each time, at a cost of seconds of CPU each on a suite that starts some seventy
 * databases and three hundred processes:
 * - on the embedded database, a PGlite database migrated to the latest schema, as a data
 *   directory (for servers) and as a tarball (for databases in a test's own process), which each
 *   test database starts as a copy of instead of running initdb;
 * - Node's compile cache, so a spawned server or CLI command does not compile Tessera again.
 */
export const RUN_DIR_ENV = 'TESSERA_TEST_RUN_DIR';

const templateOf = (runDir: string) => join(runDir, 'template');
const compileCacheOf = (runDir: string) => join(runDir, 'compile-cache');

function currentRunDir(): string {
  const dir = process.env[RUN_DIR_ENV];
  if (!dir) throw new Error(`${RUN_DIR_ENV} is not set: run the tests with npm test, whose global setup makes it`);
  return dir;
}

/** The embedded databases' migrated template: `pgdata/` and `pgdata.tar`. */
export const templateDir = () => templateOf(currentRunDir());
/** Where spawned servers and CLI commands keep what Node compiled (NODE_COMPILE_CACHE). */
export const compileCacheDir = () => compileCacheOf(currentRunDir());

export default async function globalSetup(): Promise<void> {
  const runDir = await mkdtemp(join(tmpdir(), 'tessera-test-run-'));
  try {
    await mkdir(compileCacheOf(runDir));
    if (!process.env.DATABASE_URL) await makeTemplate(templateOf(runDir));
  } catch (err) {
    await rm(runDir, { recursive: true, force: true });
    throw err;
  }
  process.env[RUN_DIR_ENV] = runDir;
}

async function makeTemplate(template: string): Promise<void> {
  await mkdir(template);
  const pglite = await PGlite.create(join(template, 'pgdata'));
  try {
    await migrateToLatest(new Kysely<never>({ dialect: new PGliteDialect({ pglite }) }));
    const tarball = await pglite.dumpDataDir('none');
    await writeFile(join(template, 'pgdata.tar'), Buffer.from(await tarball.arrayBuffer()));
  } finally {
    await pglite.close();
  }
}
