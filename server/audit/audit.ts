import type { Db } from '../../db/database.ts';
import type { AuditEventInput } from '../../db/repositories/audit-events.ts';
import type { Logger } from '../logger.ts';
import { createAuditAppender } from './chain.ts';

/** How long audit events are kept before the sweep deletes them. */
export const AUDIT_RETENTION_DAYS = 365;

export type Audit = (event: AuditEventInput) => Promise<void>;

/**
 * One call every feature makes for a security event: a row appended to the audit chain (see
 * chain.ts) and a log line. Callers pass ids and reasons only, never a password, token or secret.
 */
export function createAudit(db: Db, logger: Logger, counted?: (type: string) => void): Audit {
  const append = createAuditAppender(db);
  return async (event) => {
    logger.info({ audit: event }, `audit ${event.type}`);
    counted?.(event.type);
    await append(event);
  };
}

/** Where a request came from, as every audit row records it. */
export const seenIn = (ctx: { ip: string; get(field: string): string }) => ({
  ip: ctx.ip,
  userAgent: ctx.get('user-agent'),
});
