import type { Server } from 'node:http';
import { shareHashingCores } from './accounts/passwords.ts';
import { createApp } from './app.ts';
import type { Config } from './config.ts';
import { createDeps } from './deps.ts';
import { CLOSE_TIMEOUT_MS, DRAIN_TIMEOUT_MS } from './drain.ts';
import type { Logger } from './logger.ts';
import { releaseStartupMemory } from './startup-memory.ts';

/**
 * One node: deps → app → listen (as the only process, or as one of WORKERS sharing the port).
 * SIGTERM/SIGINT: stop taking connections, let the requests in flight finish (DRAIN_TIMEOUT_MS
 * at most, then their connections are closed), close the pool and exit 0. A dependency failing
 * never ends the process: its errors are answered per request. `worker`: one of several
 * processes, whose primary says when all of them listen.
 */
export async function serve(config: Config, logger: Logger, worker: boolean): Promise<void> {
  // A promise nobody awaited that failed (a dependency's, typically) is a bug to fix, not a
  // reason to drop every request in flight: it is logged, and the server keeps serving.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  if (!config.smtpUrl && config.mailToLog) {
    logger.warn('SMTP_URL is not set: mail, links included, is written to this log (for development only)');
  } else if (!config.smtpUrl) {
    logger.warn('SMTP_URL is not set: no mail is sent (verification and password reset mails are lost)');
  }
  shareHashingCores(config.workers); // a single node (WORKERS=1) keeps one hash per core
  const deps = await createDeps(config, logger);
  const app = createApp(deps);
  releaseStartupMemory();
  const server: Server = app.listen(config.port);
  try {
    await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  } catch (err) {
    // A port in use: the pools and workers started above would keep a process that serves nothing.
    await deps.close().catch(() => {});
    throw err;
  }
  const address = server.address();
  logger.info(
    {
      issuer: config.issuer,
      port: typeof address === 'object' ? address?.port : config.port,
      database: deps.database.mode,
      ...(worker ? { pid: process.pid } : {}),
    },
    worker ? 'worker is listening' : 'Tessera is listening',
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: draining requests');
    const force = setTimeout(() => server.closeAllConnections(), DRAIN_TIMEOUT_MS).unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(force);
    const closed = await Promise.race([
      deps.close().then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), CLOSE_TIMEOUT_MS).unref()),
    ]).catch((err) => {
      logger.warn({ err }, 'closing dependencies failed');
      return false;
    });
    logger.info('stopped');
    // Whatever still holds the event loop (a connection that would not close, a worker's channel
    // to its primary) does not hold the exit.
    if (!closed || worker) logger.flush(() => process.exit(0));
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
