import type { Server } from 'node:http';
import { createApp } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';
import { createDeps } from './deps.ts';
import { createLogger } from './logger.ts';

/** config → deps → app → listen. SIGTERM/SIGINT: stop taking requests, drain, close the pool. */
const DRAIN_TIMEOUT_MS = 10_000;

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
  if (!config.smtpUrl && config.mailToLog) {
    logger.warn('SMTP_URL is not set: mail, links included, is written to this log (for development only)');
  } else if (!config.smtpUrl) {
    logger.warn('SMTP_URL is not set: no mail is sent (verification and password reset mails are lost)');
  }
  const deps = await createDeps(config, logger);
  const server: Server = createApp(deps).listen(config.port);
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
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
    await deps.close();
    logger.info('stopped');
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  console.error(`Tessera failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
