import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config.ts';
import { CLOSE_TIMEOUT_MS, DRAIN_TIMEOUT_MS } from './drain.ts';
import type { Logger } from './logger.ts';

/**
 * The primary of WORKERS processes sharing the port (node:cluster), each a full node as several
 * machines would run them: everything they share lives in the database (and Redis). The primary
 * serves nothing and opens no database. Rules:
 * - it says 'Tessera is listening' once every worker listens;
 * - a worker that dies is replaced, after a pause that grows while workers keep dying soon
 *   after their start (a crash loop must not spin the CPU), and shrinks back once they last;
 * - a worker that fails before it ever listened, while none listens, is a start that cannot work
 *   (a bad DATABASE_URL, say): the primary stops the others and exits 1;
 * - SIGTERM/SIGINT: every worker drains as a single node would; the primary exits 0 when all
 *   have, or ends the stragglers once their drain and close times have passed.
 */
const STABLE_AFTER_MS = 10_000;
const MAX_PAUSE_MS = 10_000;

export function runPrimary(config: Config, logger: Logger): void {
  const started = new Map<number, number>();
  const listening = new Set<number>();
  let everListened = false;
  let announced = false;
  let stopping = false;
  let pauseMs = 0;

  const fork = () => {
    const worker = cluster.fork();
    started.set(worker.id, Date.now());
  };

  cluster.on('listening', (worker: Worker, address) => {
    listening.add(worker.id);
    everListened = true;
    if (announced || listening.size < config.workers) return;
    announced = true;
    logger.info(
      { issuer: config.issuer, port: address.port, database: 'postgres', workers: config.workers },
      'Tessera is listening',
    );
  });

  cluster.on('exit', (worker: Worker, code, signal) => {
    const wasListening = listening.delete(worker.id);
    const lived = Date.now() - (started.get(worker.id) ?? Date.now());
    started.delete(worker.id);
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) finish();
      return;
    }
    if (!wasListening && !everListened) {
      logger.error({ pid: worker.process.pid, code, signal }, 'a worker could not start; stopping');
      stop('startup failure', 1);
      return;
    }
    pauseMs = lived >= STABLE_AFTER_MS ? 0 : Math.min(MAX_PAUSE_MS, Math.max(100, pauseMs * 2));
    logger.warn({ pid: worker.process.pid, code, signal, restartInMs: pauseMs }, 'worker died; starting another');
    setTimeout(() => {
      if (!stopping) fork();
    }, pauseMs);
  });

  let exitCode = 0;
  const finish = () => {
    logger.info('stopped');
    logger.flush(() => process.exit(exitCode));
  };
  const stop = (reason: string, code = 0) => {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    logger.info({ reason }, 'stopping: draining every worker');
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) finish();
    for (const worker of workers) worker?.process.kill('SIGTERM');
    setTimeout(
      () => {
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      },
      DRAIN_TIMEOUT_MS + CLOSE_TIMEOUT_MS + 1_000,
    ).unref();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  logger.info({ workers: config.workers }, 'starting workers');
  for (let i = 0; i < config.workers; i++) fork();
}
