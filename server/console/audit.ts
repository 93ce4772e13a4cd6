import type { Context } from 'koa';
import { listAuditEvents } from '../../db/repositories/audit-events.ts';
import { findUserByLogin } from '../../db/repositories/users.ts';
import { AppError } from '../errors.ts';
import { csvRow } from './csv.ts';
import type { ConsoleDeps } from './deps.ts';
import { pageNumber } from './form.ts';
import { adminOperation } from './operations.ts';
import { paging } from './paging.ts';
import { adminOf } from './session.ts';
import { view } from './view.ts';

/**
 * /admin/audit: the audit log, newest first, filtered by type, user (id, email or username),
 * client and days (UTC), through the admin API's own listing (so its checks apply); and the same
 * selection as CSV, the newest EXPORT_LIMIT events at most. Exporting is itself audited.
 */
const PAGE_SIZE = 50;
const EXPORT_LIMIT = 10_000;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Filter {
  type: string;
  user: string;
  client: string;
  from: string;
  to: string;
}

function filterOf(ctx: Context): Filter {
  const read = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).trim() : '');
  return { type: read('type'), user: read('user'), client: read('client'), from: read('from'), to: read('to') };
}

/** The admin API's query for a filter; a user named by email or username is looked up. */
async function queryOf(deps: ConsoleDeps, f: Filter): Promise<Record<string, string>> {
  for (const [name, value] of [
    ['from', f.from],
    ['to', f.to],
  ] as const) {
    if (value && !DAY.test(value)) throw new AppError('invalid_input', `${name}: must be a day as YYYY-MM-DD`);
  }
  // Not a user id: an email or username, looked up; one nobody has matches no event.
  const userId = f.user && !USER_ID.test(f.user) ? (await findUserByLogin(deps.db, f.user))?.id : f.user;
  return {
    ...(f.type ? { type: f.type } : {}),
    ...(f.user ? { user_id: userId ?? f.user } : {}),
    ...(f.client ? { client_id: f.client } : {}),
    ...(f.from ? { from: `${f.from}T00:00:00Z` } : {}),
    ...(f.to ? { to: `${f.to}T23:59:59.999Z` } : {}),
  };
}

export function auditPages(deps: ConsoleDeps) {
  const list = adminOperation(deps, 'get', '/audit-events');
  return {
    async list(ctx: Context) {
      const filter = filterOf(ctx);
      const page = pageNumber(ctx);
      let found: { items: { at: string }[]; total: number } = { items: [], total: 0 };
      let error: string | undefined;
      try {
        const query = {
          ...(await queryOf(deps, filter)),
          limit: String(PAGE_SIZE),
          offset: String((page - 1) * PAGE_SIZE),
        };
        found = (await list(ctx, adminOf(ctx), { query })) as typeof found;
      } catch (err) {
        if (!(err instanceof AppError) || err.status >= 500) throw err;
        error = err.message;
      }
      const csv = new URLSearchParams(Object.entries(filter).filter(([, v]) => v));
      view(
        ctx,
        deps,
        'audit',
        'Audit log',
        {
          title: 'Audit log',
          filter,
          events: found.items.map((e) => ({ ...e, at: new Date(e.at) })),
          paging: paging(page, found.total, PAGE_SIZE, { ...filter }),
          csvHref: `/admin/audit.csv${csv.size ? `?${csv}` : ''}`,
          exportLimit: EXPORT_LIMIT,
          error,
        },
        error ? 400 : 200,
      );
    },

    async csv(ctx: Context) {
      const admin = adminOf(ctx);
      const query = await queryOf(deps, filterOf(ctx));
      // The admin API's own checks on the filter first (a bad one is a 400), then one query for the rows.
      await list(ctx, admin, { query: { ...query, limit: '1' } });
      const { rows } = await listAuditEvents(deps.db, {
        userId: query.user_id,
        clientId: query.client_id,
        type: query.type,
        from: query.from ? new Date(query.from) : undefined,
        to: query.to ? new Date(query.to) : undefined,
        limit: EXPORT_LIMIT,
        offset: 0,
      });
      await deps.audit({ type: 'audit.exported', actor: admin.actor, details: { filter: query, rows: rows.length } });
      const header = ['id', 'at', 'type', 'user_id', 'client_id', 'actor', 'ip', 'user_agent', 'details'];
      ctx.type = 'text/csv; charset=utf-8';
      ctx.set('Content-Disposition', 'attachment; filename="tessera-audit.csv"');
      ctx.set('Cache-Control', 'no-store');
      ctx.body =
        csvRow(header) +
        rows
          .map((r) =>
            csvRow([r.id, r.at.toISOString(), r.type, r.user_id, r.client_id, r.actor, r.ip, r.user_agent, r.details]),
          )
          .join('');
    },
  };
}
