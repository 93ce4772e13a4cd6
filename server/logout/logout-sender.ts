import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/database.ts';
import {
  claimDueLogout,
  finishLogout,
  type LogoutTarget,
  type QueuedLogout,
  retryLogoutLater,
} from '../../db/repositories/backchannel-logouts.ts';
import type { Audit } from '../audit/audit.ts';
import type { Logger } from '../logger.ts';
import { startQueuePoller } from '../queue-poller.ts';

/**
 * The worker that posts queued back-channel logout tokens, one per node. Rules it enforces:
 * - whoever ends a session never waits for an app: the logout is queued and this worker posts it
 *   within about a second, each post ending after a few seconds at most (outgoing-fetch.ts);
 * - an app that is down, slow or answers anything but 200/204 is tried again after 2, 4, 8 and
 *   16 seconds; after the fifth failure the logout is given up. Each failure is logged, the
 *   outcome audited (`logout_token.sent` / `logout_token.failed`), never the token itself;
 * - one failure does not hold back the others: the next row is tried at once.
 */
export type PostLogout = (target: LogoutTarget) => Promise<'sent' | 'skipped'>;

export interface LogoutSender {
  stop(): Promise<void>;
}

const LEASE_SECONDS = 60;
const MAX_ATTEMPTS = 5;

export function startLogoutSender(
  deps: { db: Db; logger: Logger; audit: Audit; post: PostLogout },
  pollMs = 1000,
): LogoutSender {
  const poller = startQueuePoller({
    logger: deps.logger,
    name: 'logout sender',
    waits: 'logouts wait',
    pollMs,
    round: async (stopping) => {
      while (!stopping()) {
        const logout = await claimDueLogout(deps.db, randomUUID(), LEASE_SECONDS);
        if (!logout) return;
        await attempt(deps, logout);
      }
    },
  });
  return { stop: () => poller.stop() };
}

// One attempt at one claimed logout. Only the post decides between done and retry: a failure to
// audit afterwards must not post the token a second time.
async function attempt(deps: { db: Db; logger: Logger; audit: Audit; post: PostLogout }, logout: QueuedLogout) {
  const { db, logger, audit } = deps;
  const about = { userId: logout.account_id, clientId: logout.client_id };
  let outcome: 'sent' | 'skipped';
  try {
    outcome = await deps.post(logout);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (logout.attempts >= MAX_ATTEMPTS) {
      await finishLogout(db, logout);
      await audit({ type: 'logout_token.failed', ...about, details: { attempts: logout.attempts, reason } });
      return;
    }
    const delay = 2 ** logout.attempts;
    logger.warn(
      { logout: { ...about, attempts: logout.attempts }, reason, retryInSeconds: delay },
      'logout token not delivered; will retry',
    );
    await retryLogoutLater(db, logout, delay);
    return;
  }
  await finishLogout(db, logout);
  if (outcome === 'sent') await audit({ type: 'logout_token.sent', ...about, details: { attempts: logout.attempts } });
}
