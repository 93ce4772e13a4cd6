/**
 * How long a stopping node gives the requests in flight before closing their connections, and
 * then its pool, Redis and SMTP before it leaves anyway. A primary of several workers waits for
 * both (and a little) before it ends a worker that still has not exited.
 */
export const DRAIN_TIMEOUT_MS = 10_000;
export const CLOSE_TIMEOUT_MS = 5_000;
