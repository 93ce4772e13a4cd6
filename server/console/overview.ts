import type { Context } from 'koa';
import { listAuditEvents } from '../../db/repositories/audit-events.ts';
import { countActiveSessions } from '../../db/repositories/console-stats.ts';
import { dailyCounts } from '../../db/repositories/daily-counts.ts';
import { listSigningKeys } from '../../db/repositories/signing-keys.ts';
import { eventCountKind } from '../audit/chain.ts';
import { TOKENS_ISSUED } from '../oidc/token-counter.ts';
import { barWidth, CHART, dailySeries, lastDays } from './chart.ts';
import type { ConsoleDeps } from './deps.ts';
import { view } from './view.ts';

/**
 * /admin: activity of the last 30 days, sessions now, the latest security events, and what an
 * operator must fix (mail only in the log, several nodes without Redis, old signing keys).
 */
const DAYS = 30;
const KEY_ROTATION_DAYS = 90;
const SERIES = [
  { kind: eventCountKind('login.succeeded'), label: 'Sign-ins' },
  { kind: eventCountKind('login.failed'), label: 'Failed sign-ins' },
  { kind: eventCountKind('signup'), label: 'Sign-ups' },
  { kind: TOKENS_ISSUED, label: 'Tokens issued' },
];

export async function showOverview(ctx: Context, deps: ConsoleDeps) {
  const [activity, sessions, latest, keys] = await Promise.all([
    dailyCounts(
      deps.db,
      SERIES.map((s) => s.kind),
      DAYS,
    ),
    countActiveSessions(deps.db),
    listAuditEvents(deps.db, { limit: 10, offset: 0 }),
    listSigningKeys(deps.db),
  ]);
  const days = lastDays(DAYS);
  view(ctx, deps, 'overview', 'Overview', {
    title: 'Overview',
    series: dailySeries(activity, SERIES, days),
    days,
    chart: { ...CHART, barWidth: barWidth(DAYS) },
    sessions,
    latest: latest.rows,
    warnings: warnings(deps, keys),
  });
}

function warnings(deps: ConsoleDeps, keys: { created_at: Date; retired_at: Date | null }[]): string[] {
  const found: string[] = [];
  const { setup } = deps;
  if (!setup.smtp) {
    found.push(
      setup.mailToLog
        ? 'Mail is not sent: SMTP_URL is not set, so verification and reset links are written to the log.'
        : 'Mail is not sent: SMTP_URL is not set, so nobody receives verification, reset or invitation mail.',
    );
  }
  if (setup.postgres && !setup.redis) {
    found.push(
      'REDIS_URL is not set: with several nodes, every login attempt is counted by a write to PostgreSQL. Redis takes that load off the database.',
    );
  }
  const newest = keys.filter((k) => !k.retired_at).map((k) => k.created_at.getTime());
  const age = newest.length ? (Date.now() - Math.max(...newest)) / 86_400_000 : 0;
  if (age > KEY_ROTATION_DAYS) {
    found.push(`The signing keys are ${Math.floor(age)} days old: rotate them (Signing keys, or tessera keys rotate).`);
  }
  return found;
}
