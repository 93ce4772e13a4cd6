import { z } from 'zod';
import { listAuditEvents } from '../../db/repositories/audit-events.ts';
import { endpoint } from './endpoint.ts';
import { paged, pageQuery } from './shapes.ts';

/** The audit trail, newest first, filtered by user, client, type and time. Read only. */
const auditEvent = z
  .object({
    id: z.string(),
    at: z.string(),
    type: z.string(),
    user_id: z.string().nullable(),
    client_id: z.string().nullable(),
    actor: z.string().nullable(),
    ip: z.string().nullable(),
    user_agent: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    prev_hash: z.string().meta({ description: 'The previous event’s hash in the audit chain' }),
    hash: z.string().meta({ description: 'SHA-256 over this event and prev_hash (see `tessera audit verify`)' }),
  })
  .meta({ id: 'AuditEvent' });

const dateTime = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time' });

export const auditEventEndpoints = [
  endpoint({
    method: 'get',
    path: '/audit-events',
    tag: 'audit-events',
    summary: 'List audit events, newest first',
    query: pageQuery.extend({
      user_id: z.string().min(1).max(200).optional(),
      client_id: z.string().min(1).max(200).optional(),
      type: z.string().min(1).max(100).optional(),
      from: dateTime.optional(),
      to: dateTime.optional(),
    }),
    response: paged(auditEvent),
    async handle({ query, deps }) {
      const { rows, total } = await listAuditEvents(deps.db, {
        userId: query.user_id,
        clientId: query.client_id,
        type: query.type,
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
        limit: query.limit,
        offset: query.offset,
      });
      const items = rows.map((r) => ({ ...r, id: String(r.id), at: r.at.toISOString() }));
      return { items, total, limit: query.limit, offset: query.offset };
    },
  }),
];
