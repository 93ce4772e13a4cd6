import type { Server } from 'node:http';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createDeps } from './deps.ts';
import { createLogger } from './logger.ts';

/**
 * config → deps → app → listen. SIGTERM/SIGINT: stop taking connections, let the requests in
 * flight finish (DRAIN_TIMEOUT_MS at most, then their connections are closed), close the pool and
 * exit 0. A dependency failing never ends the process: its errors are answered per request.
 */
const DRAIN_TIMEOUT_MS = 10_000;
/** After the drain: closing the pool, Redis and SMTP gets this long before the process leaves anyway. */
const CLOSE_TIMEOUT_MS = 5_000;

async function main() {
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
  // A promise nobody awaited that failed (a dependency's, typically) is a bug to fix, not a
  // reason to drop every request in flight: it is logged, and the server keeps serving.
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  if (!config.smtpUrl && config.mailToLog) {
    logger.warn('SMTP_URL is not set: mail, links included, is written to this log (for development only)');
  } else if (!config.smtpUrl) {
    logger.warn('SMTP_URL is not set: no mail is sent (verification and password reset mails are lost)');
  }
  const deps = await createDeps(config, logger);
  const server: Server = createApp(deps).listen(config.port);
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
    },
    'Tessera is listening',
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
    // Whatever still holds the event loop (a connection that would not close) does not hold the exit.
    if (!closed) logger.flush(() => process.exit(0));
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(`Tessera failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
