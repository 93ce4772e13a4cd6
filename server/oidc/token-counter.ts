import type { Db } from '../../db/database.ts';
import { addToDailyCounts, deleteDailyCountsOlderThan } from '../../db/repositories/daily-counts.ts';
import type { Logger } from '../logger.ts';

/**
 * Counts the access tokens this node issues (for people and for machine clients, JWT or opaque)
 * for the console's chart of tokens per day (audit events are counted as they are appended, see
 * audit/chain.ts). Tokens are counted in memory and added to the day's
 * row every few seconds, so issuing a token costs no write; a count the database refused is kept
 * for the next try, and what is still held is written on stop. Counts older than a year go.
 * `count` is called by every provider the host builds (a new one each time the signing keys
 * change), on each event that issues an access token.
 */
export const TOKENS_ISSUED = 'tokens_issued';
const FLUSH_MS = 5_000;
const KEEP_DAYS = 366;

export interface TokenCounter {
  count(): void;
  stop(): Promise<void>;
}

export function countIssuedTokens(db: Db, logger: Logger): TokenCounter {
  let pending = 0;
  const flush = async () => {
    const n = pending;
    if (n === 0) return;
    pending = 0;
    try {
      await addToDailyCounts(db, new Map([[TOKENS_ISSUED, n]]));
      await deleteDailyCountsOlderThan(db, KEEP_DAYS);
    } catch (err) {
      pending += n;
      logger.warn({ err: (err as Error).message }, 'token count not saved yet; will retry');
    }
  };
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= flush().finally(() => {
      running = undefined;
    });
  }, FLUSH_MS);
  timer.unref();
  return {
    count() {
      pending += 1;
    },
    async stop() {
      clearInterval(timer);
      await running;
      await flush();
    },
  };
}
