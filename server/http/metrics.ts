import type { Context } from 'koa';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Dependency } from './dependency-errors.ts';

/**
 * What /metrics tells Prometheus: requests by route and status with their latency, security
 * events by type (logins, failures, lockouts: the audit log's counts), and the process's own
 * figures, requests answered 503 because a dependency was down, by dependency (a rise is the
 * alarm for a database or Redis outage; see dependency-errors.ts), and the mail outbox: what it
 * has sent, retried, skipped and given up on this node, and how much mail waits (from the
 * database, so every node reports the same queue). Routes are patterns (`/interaction/:uid/login`)
 * or oidc-provider's route names (`token`), never raw paths, so the number of series stays small.
 */
export interface Metrics {
  observeRequest(ctx: Context, seconds: number): void;
  countEvent(type: string): void;
  countUnavailable(dependency: Dependency): void;
  countMail(outcome: string): void;
  /** Where the outbox gauges read from, once the database is open. */
  watchMailOutbox(measure: () => Promise<{ pending: number; oldest_seconds: number }>): void;
  readonly contentType: string;
  render(): Promise<string>;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'tessera_http_requests_total',
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tessera_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by method and route.',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const events = new Counter({
    name: 'tessera_security_events_total',
    help: 'Security events written to the audit log, by type.',
    labelNames: ['type'],
    registers: [registry],
  });
  const unavailable = new Counter({
    name: 'tessera_dependency_unavailable_total',
    help: 'Requests answered 503 because a dependency was unreachable, by dependency.',
    labelNames: ['dependency'],
    registers: [registry],
  });
  const mails = new Counter({
    name: 'tessera_mail_total',
    help: 'Outbox mails handled by this node, by outcome (sent, retried, skipped, failed).',
    labelNames: ['outcome'],
    registers: [registry],
  });
  let measureOutbox: (() => Promise<{ pending: number; oldest_seconds: number }>) | undefined;
  // Both outbox gauges are collected at once on a scrape: they share one query. A database that
  // does not answer leaves the last values rather than failing the scrape.
  let measuring: Promise<{ pending: number; oldest_seconds: number } | undefined> | undefined;
  const measure = () => {
    measuring ??= (measureOutbox?.() ?? Promise.resolve(undefined))
      .catch(() => undefined)
      .finally(() => {
        measuring = undefined;
      });
    return measuring;
  };
  new Gauge({
    name: 'tessera_mail_outbox_pending',
    help: 'Mails waiting in the outbox to be sent.',
    registers: [registry],
    async collect() {
      const measured = await measure();
      if (measured) this.set(measured.pending);
    },
  });
  new Gauge({
    name: 'tessera_mail_outbox_oldest_pending_seconds',
    help: 'How long the oldest mail in the outbox has waited, in seconds (0 when none waits).',
    registers: [registry],
    async collect() {
      const measured = await measure();
      if (measured) this.set(measured.oldest_seconds);
    },
  });
  return {
    observeRequest(ctx, seconds) {
      const route = routeOf(ctx);
      requests.inc({ method: ctx.method, route, status: String(ctx.status) });
      duration.observe({ method: ctx.method, route }, seconds);
    },
    countEvent(type) {
      events.inc({ type });
    },
    countUnavailable(dependency) {
      unavailable.inc({ dependency });
    },
    countMail(outcome) {
      mails.inc({ outcome });
    },
    watchMailOutbox(measure) {
      measureOutbox = measure;
    },
    contentType: registry.contentType,
    render: () => registry.metrics(),
  };
}

function routeOf(ctx: Context): string {
  const oidcRoute = (ctx as { oidc?: { route?: string } }).oidc?.route;
  if (oidcRoute) return oidcRoute;
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  return typeof matched === 'string' ? matched : 'unmatched';
}
