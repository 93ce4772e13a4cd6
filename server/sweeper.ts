import { sweepExpiredPayloads } from '../adapters/oidc-adapter.ts';
import type { Db } from '../db/database.ts';
import { deleteExpiredEmailTokens } from '../db/repositories/email-tokens.ts';
import { deleteFinishedMail } from '../db/repositories/mail-outbox.ts';
import { deleteSigningKeysRetiredBefore } from '../db/repositories/signing-keys.ts';
import { deleteExpiredChallenges } from '../db/repositories/webauthn-challenges.ts';
import { deleteExpiredSignups } from './accounts/pending-signups.ts';
import { AUDIT_RETENTION_DAYS } from './audit/audit.ts';
import { sweepAuditEventsBefore } from './audit/chain.ts';
import { RETAIN_AFTER_RETIREMENT_MS } from './keys/signing-keys.ts';
import type { Logger } from './logger.ts';
import { sweepExpiredRateLimits } from './rate-limit/rate-limits.ts';

/**
 * Deletes what has expired (oidc-provider artifacts, retired keys, mailed links, rate-limit
 * counters, WebAuthn challenges, audit events past their retention, sign-ups never verified, outbox rows a day after
 * they were sent or skipped and a week after they failed) every few minutes, so nothing grows
 * without bound. Several nodes may sweep at once; the deletes do not mind (the audit sweep takes
 * the chain's lock and cuts only its oldest events, recording where, so the chain still verifies).
 */
const SENT_MAIL_KEPT_MS = 86_400_000;
const FAILED_MAIL_KEPT_MS = 7 * 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);

export function startSweeper(db: Db, logger: Logger, everyMs = 5 * 60_000): () => void {
  const sweep = async () => {
    try {
      const payloads = await sweepExpiredPayloads(db);
      const keys = await deleteSigningKeysRetiredBefore(db, new Date(Date.now() - RETAIN_AFTER_RETIREMENT_MS));
      const emailTokens = await deleteExpiredEmailTokens(db);
      const rateLimits = await sweepExpiredRateLimits(db);
      const auditEvents = await sweepAuditEventsBefore(db, ago(AUDIT_RETENTION_DAYS * 86_400_000));
      const unverifiedSignups = await deleteExpiredSignups(db);
      const mails = await deleteFinishedMail(db, ago(SENT_MAIL_KEPT_MS), ago(FAILED_MAIL_KEPT_MS));
      const challenges = await deleteExpiredChallenges(db);
      if (payloads || keys || emailTokens || rateLimits || auditEvents || unverifiedSignups || mails || challenges) {
        logger.info(
          { payloads, keys, emailTokens, rateLimits, auditEvents, unverifiedSignups, mails, challenges },
          'swept expired rows',
        );
      }
    } catch (err) {
      logger.warn({ err }, 'sweep failed');
    }
  };
  const timer = setInterval(sweep, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
