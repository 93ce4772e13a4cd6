import cluster from 'node:cluster';
import { cacheCompiledModules } from './compile-cache.ts';

/**
 * config → one node (serve.ts), or with WORKERS above 1 a primary that runs that many nodes as
 * worker processes sharing the port (cluster.ts). Both are imported only where they run: the
 * primary loads neither the database nor the provider.
 */
async function main() {
  cacheCompiledModules(); // before any other module of ours is imported
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
