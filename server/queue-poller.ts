import type { Logger } from './logger.ts';

/**
 * The polling loop of a per-node queue worker (the mail outbox, the back-channel logout sender):
 * a round runs at once, then `pollMs` after the last one ended, never two at a time. A round the
 * database refuses is logged once per outage, not every poll, and its end once; the work waits in
 * the queue. `stop()` lets a round in progress finish and starts no other.
 */
export interface QueuePoller {
  /** Waits for a round in progress, then runs one more now. */
  runNow(): Promise<void>;
  stop(): Promise<void>;
}

export function startQueuePoller(opts: {
  logger: Logger;
  /** Names the worker in its log lines, e.g. `mail outbox`. */
  name: string;
  /** What waits while the database is down, e.g. `mail waits`. */
  waits: string;
  pollMs: number;
  /** Works through what is due; `stopping()` turns true once `stop()` was called. */
  round: (stopping: () => boolean) => Promise<void>;
}): QueuePoller {
  const { logger, name } = opts;
  let stopping = false;
  let round: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let databaseDown = false;
  const runRound = () => opts.round(() => stopping);

  const poll = () => {
    round = runRound()
      .then(() => {
        if (databaseDown) logger.info(`${name}: the database answers again`);
        databaseDown = false;
      })
      .catch((err: Error) => {
        if (!databaseDown) logger.warn({ err: err.message }, `${name}: cannot read the queue; ${opts.waits}`);
        databaseDown = true;
      })
      .finally(() => {
        round = undefined;
        if (!stopping) timer = setTimeout(poll, opts.pollMs);
      });
  };
  poll();

  return {
    async runNow() {
      while (round) await round;
      await runRound();
    },
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await round;
    },
  };
}
