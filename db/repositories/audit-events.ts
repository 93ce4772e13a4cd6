import type { Db } from '../database.ts';

export interface AuditEventInput {
  type: string;
  userId?: string | undefined;
  clientId?: string | undefined;
  actor?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  details?: Record<string, unknown>;
}

export async function insertAuditEvent(db: Db, event: AuditEventInput): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      type: event.type,
      user_id: event.userId ?? null,
      client_id: event.clientId ?? null,
      actor: event.actor ?? null,
      ip: event.ip ?? null,
      user_agent: event.userAgent?.slice(0, 512) ?? null,
      details: JSON.stringify(event.details ?? {}),
    })
    .execute();
}
