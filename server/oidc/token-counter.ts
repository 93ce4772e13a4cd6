import type { EventEmitter } from 'node:events';
import type { Provider } from 'oidc-provider';
import type { Db } from '../../db/database.ts';
import { addToDailyCounts, deleteDailyCountsOlderThan } from '../../db/repositories/daily-counts.ts';
import type { Logger } from '../logger.ts';

/**
 * Counts the access tokens this node issues (for people and for machine clients, JWT or opaque)
 * for the console's chart of tokens per day (audit events are counted as they are appended, see
 * audit/chain.ts). Tokens are counted in memory and added to the day's
 * row every few seconds, so issuing a token costs no write; a count the database refused is kept
 * for the next try, and what is still held is written on stop. Counts older than a year go.
 */
export const TOKENS_ISSUED = 'tokens_issued';
const FLUSH_MS = 5_000;
const KEEP_DAYS = 366;
const EVENTS = ['access_token.issued', 'access_token.saved', 'client_credentials.issued', 'client_credentials.saved'];

export function countIssuedTokens(provider: Provider, db: Db, logger: Logger): { stop(): Promise<void> } {
  let pending = 0;
  const count = () => {
    pending += 1;
  };
  // The typings overload `on` per event name; the emitter takes any.
  const events = provider as unknown as EventEmitter;
  for (const event of EVENTS) events.on(event, count);
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
    async stop() {
      clearInterval(timer);
      for (const event of EVENTS) events.off(event, count);
      await running;
      await flush();
    },
  };
}
