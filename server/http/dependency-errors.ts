/**
 * Which errors mean "a dependency is down" rather than "this request is wrong" or "our bug".
 * Rules this file enforces:
 * - the database (PostgreSQL or PGlite's socket) or Redis unreachable, restarting, refusing,
 *   dropping a connection or timing out, or the password checker's thread not answering, is an
 *   outage: the caller gets 503 `temporarily_unavailable` with `Retry-After`, never 500, and may
 *   simply try again;
 * - everything else (constraint violations, bad SQL, our own bugs) is not, and stays a 500;
 * - the answer is one place, used by Tessera's error boundary and by oidc-provider's.
 */
export type Dependency = 'database' | 'redis' | 'password_checker';

/** Thrown by a part of Tessera whose own helper (a worker thread, say) is not answering. */
export class DependencyUnavailable extends Error {
  override name = 'DependencyUnavailable';
  readonly dependency: Dependency;
  constructor(dependency: Dependency, message: string, options?: ErrorOptions) {
    super(message, options);
    this.dependency = dependency;
  }
}

/** Seconds a client is told to wait: about how long a restarted PostgreSQL takes to take connections. */
export const RETRY_AFTER_SECONDS = 5;

/** What a client reads in the `error_description` of a 503 (RFC 6749 `temporarily_unavailable`). */
export const UNAVAILABLE_DESCRIPTION = 'The service is briefly unavailable. Please try again shortly.';

// SQLSTATE classes and codes that say the server went away or cannot take us now: 08 connection
// exception, 53300 too many connections, 57014 query cancelled (statement_timeout), 57P01 admin
// shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting up or in recovery).
const POSTGRES_OUTAGE = /^(08...|53300|57014|57P0[1-3])$/;

// Socket-level failures, from `pg`, `net` or ioredis: refused, reset, timed out, unreachable.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EAI_AGAIN',
]);

// What `pg` and pg-pool say when a connection dies or cannot be had in time; these errors have no code.
const PG_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|Query read timeout|connection error and is not queryable|Postgres connection has been discarded|Client was closed and is not queryable/;

// ioredis with its offline queue off, and the rate limiter's wait for a connection.
const REDIS_MESSAGES =
  /Connection is closed|enableOfflineQueue options is false|Redis connection is closed|max retries per request/i;

// The rate limiter rebuilds its store's errors from their message alone (they carry its keys), so
// there a network failure shows only as text: "rate limit store failed: connect ECONNREFUSED …".
const RATE_LIMIT_STORE_DOWN = new RegExp(`^rate limit store failed: .*\\b(${[...NETWORK_CODES].join('|')})\\b`);

/** The dependency whose outage `err` reports, or undefined when it is not an outage. */
export function failedDependency(err: unknown): Dependency | undefined {
  for (const link of causes(err)) {
    if (link instanceof DependencyUnavailable) return link.dependency;
    const { code, message } = link as { code?: unknown; message?: unknown };
    const text = typeof message === 'string' ? message : '';
    if (REDIS_MESSAGES.test(text)) return 'redis';
    if (typeof code === 'string' && POSTGRES_OUTAGE.test(code) && 'severity' in (link as object)) return 'database';
    if (PG_MESSAGES.test(text)) return 'database';
    if (RATE_LIMIT_STORE_DOWN.test(text)) return 'redis';
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || isMissingSocket(link))) {
      // ioredis names itself in its errors' stacks; any other connection failing here is the database's.
      return /ioredis/.test(String((link as { stack?: unknown }).stack)) ? 'redis' : 'database';
    }
  }
  return undefined;
}

/** An outage's code and message, for the log: never a stack, nor a query's parameters. */
export function reasonOf(err: unknown): string {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  return [typeof code === 'string' ? code : '', typeof message === 'string' ? message : String(err)]
    .filter(Boolean)
    .join(' ');
}

// PGlite's Unix socket is gone: the server that served it has stopped.
function isMissingSocket(link: unknown): boolean {
  const { code, syscall } = link as { code?: unknown; syscall?: unknown };
  return code === 'ENOENT' && syscall === 'connect';
}

// The error, its `cause` chain and an AggregateError's members (Node tries each address of a host).
function* causes(err: unknown, depth = 0): Generator<unknown> {
  if (!err || typeof err !== 'object' || depth > 5) return;
  yield err;
  const { cause, errors } = err as { cause?: unknown; errors?: unknown };
  if (cause) yield* causes(cause, depth + 1);
  if (Array.isArray(errors)) for (const e of errors) yield* causes(e, depth + 1);
}
