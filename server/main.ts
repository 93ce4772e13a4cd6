import cluster from 'node:cluster';
import { enableCompileCache } from 'node:module';
import { join } from 'node:path';

/**
 * config → one node (serve.ts), or with WORKERS above 1 a primary that runs that many nodes as
 * worker processes sharing the port (cluster.ts). Both are imported only where they run: the
 * primary loads neither the database nor the provider.
 *
 * Node's compile cache keeps each module's type-stripped source and compiled code between starts,
 * keyed by its path and content. Every module but this one is imported after it is on, so a restart
 * strips no types and compiles less: Node's TypeScript stripper is a WebAssembly instance whose
 * memory grows with each file it strips and never shrinks (some 10 MB of an idle node's RSS). With
 * NODE_COMPILE_CACHE set (the Docker image sets it) this file too comes from the cache and the
 * stripper is never loaded. The cache lives in the project's node_modules/.cache, not the shared
 * system temporary directory, where another local user could plant entries; where it cannot be
 * written, Node runs without it.
 */
const COMPILE_CACHE = join(import.meta.dirname, '..', 'node_modules', '.cache', 'tessera');

async function main() {
  enableCompileCache(COMPILE_CACHE);
  const { ConfigError, loadConfig } = await import('./config.ts');
  const { createLogger } = await import('./logger.ts');
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exitCode = 1;
    return;
  }
  const logger = createLogger(config.logLevel);
  if (config.workers > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('./cluster.ts');
    runPrimary(config, logger);
    return;
  }
  const { serve } = await import('./serve.ts');
  await serve(config, logger, cluster.isWorker);
}

main().catch((err) => {
  console.error(`Tessera failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
