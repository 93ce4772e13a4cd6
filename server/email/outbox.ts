import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import { claimDueMail, finishMail, type QueuedMail, retryMailLater } from '../../db/repositories/mail-outbox.ts';
import type { Logger } from '../logger.ts';
import { startQueuePoller } from '../queue-poller.ts';
import { type Mail, MailError, type Mailer } from './mailer.ts';

/**
 * The worker that sends what the outbox holds, one per node. Rules it enforces:
 * - a row is sent by the node that claimed it, under a lease longer than any send can take, so
 *   nodes polling together never send one mail twice; a node that dies mid-send leaves a lease
 *   that expires, and another node sends the mail (at least once: SMTP cannot promise once);
 * - a mail that fails for a reason that may pass (SMTP down, slow, 4xx) is tried again with
 *   exponential backoff and jitter; one failure ends the round, since the next mail would meet
 *   the same outage;
 * - a mail still unsent a day after it was queued, or refused for good, is given up: marked
 *   failed and logged with its id and kind, never its link;
 * - the mail is composed (and its link minted) just before each attempt, so no row holds a link;
 * - `stop()` lets a send in progress finish and claims nothing more.
 */
export type MailOutcome = 'sent' | 'skipped' | 'retried' | 'failed';

/** Turns a row into the mail to send now, or null when there is nothing to send any more. */
export type ComposeMail = (mail: QueuedMail) => Promise<Mail | null>;

export interface MailOutboxDeps {
  db: Db;
  mailer: Mailer;
  logger: Logger;
  compose: ComposeMail;
  counted?: (outcome: MailOutcome) => void;
}

export interface MailOutboxWorker {
  /** Sends every mail due now, until none is left or one fails for a reason that may pass. */
  sendDue(): Promise<void>;
  /** Stops polling, and resolves once a send in progress has finished. */
  stop(): Promise<void>;
}

const GIVE_UP_AFTER_SECONDS = 24 * 3600;
const LEASE_SECONDS = 5 * 60;
const FIRST_RETRY_SECONDS = 2;
const LONGEST_RETRY_SECONDS = 10 * 60;

/** Seconds before attempt `attempts + 1`: 2, 4, 8… up to 10 minutes, each ±20%. */
function retryDelaySeconds(attempts: number): number {
  const base = Math.min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** Math.max(0, attempts - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4) * 1000) / 1000;
}

/** Starts polling every `pollMs`; the first round runs at once. */
export function startMailOutbox(deps: MailOutboxDeps, pollMs = 1000): MailOutboxWorker {
  const { db } = deps;
  const poller = startQueuePoller({
    logger: deps.logger,
    name: 'mail outbox',
    waits: 'mail waits',
    pollMs,
    round: async (stopping) => {
      while (!stopping()) {
        const mail = await claimDueMail(db, randomUUID(), LEASE_SECONDS);
        if (!mail || !(await attempt(deps, mail))) return;
      }
    },
  });
  return { sendDue: () => poller.runNow(), stop: () => poller.stop() };
}

// One attempt at one claimed mail; false when the failure may pass and the round should end.
async function attempt(deps: MailOutboxDeps, mail: QueuedMail): Promise<boolean> {
  const { db, logger } = deps;
  const about = { id: mail.id, kind: mail.kind, attempts: mail.attempts };
  const giveUp = async (reason: string) => {
    await finishMail(db, mail, 'failed', reason);
    deps.counted?.('failed');
    logger.error({ mail: about, reason }, 'mail given up');
  };
  if (mail.age_seconds > GIVE_UP_AFTER_SECONDS) {
    await giveUp('not sent within 24 hours');
    return true;
  }
  try {
    const composed = await deps.compose(mail);
    if (!composed) {
      await finishMail(db, mail, 'skipped');
      deps.counted?.('skipped');
      return true;
    }
    await deps.mailer.send(composed);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (err instanceof MailError && err.permanent) {
      await giveUp(reason);
      return true;
    }
    const delay = retryDelaySeconds(mail.attempts);
    if (mail.age_seconds + delay > GIVE_UP_AFTER_SECONDS) {
      await giveUp(`not sent within 24 hours: ${reason}`);
      return false;
    }
    await retryMailLater(db, mail, delay, reason);
    deps.counted?.('retried');
    logger.warn({ mail: about, reason, retryInSeconds: Math.round(delay) }, 'mail not sent yet; will retry');
    return false;
  }
  await finishMail(db, mail, 'sent');
  deps.counted?.('sent');
  logger.info({ mail: about }, 'mail sent');
  return true;
}
