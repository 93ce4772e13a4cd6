import { Worker } from 'node:worker_threads';
import { BenchError } from './errors.ts';
import type { LoadPlan } from './requests.ts';

/**
 * A closed-loop load generator: `concurrency` connections each send one request, wait for its
 * answer, and send the next, for a warm-up and then a measured window. The rate counts the
 * requests that end inside the window, so an operation as long as a whole sign-in still counts
 * where it began in the warm-up.
 *
 * It runs in a worker thread: on the server's own event loop, the client's fetch work would be
 * added to every request of both servers alike and pull their ratio towards 100%.
 */
export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

/** One request and its checks; throws (a BenchError for a bad answer) when it went wrong. */
export type Step = () => Promise<void>;

export interface Measurement {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors: number;
  /** What went wrong first, when anything did. */
  firstError: string | undefined;
  /** The 99th percentile delay of the server's event loop meanwhile, when it runs in this process. */
  loopDelayP99Ms?: number;
  /**
   * CPU time the server spent per request (warm-up included): its thread's when it runs in this
   * process, its processes' (primary and workers) when it runs apart. Unlike the rates, barely
   * moved by what else the machine runs.
   */
  cpuMsPerRequest?: number;
  /** CPU time the load worker spent per request: what it takes from the cores the servers share. */
  loadCpuMsPerRequest: number;
  /** Busy CPU time of the whole machine per request (server, load, PostgreSQL and all else; Linux). */
  machineMsPerRequest?: number;
  /** The share of the cores' time the machine was busy meanwhile, 0 to 1. */
  machineBusyShare?: number;
  /** PostgreSQL's share of it, for a server that keeps its state there. */
  postgresMsPerRequest?: number;
}

/**
 * Runs `plan` in a fresh worker thread, with fresh connections, and returns what it measured.
 * Aborting `signal` stops the worker at once and rejects with the signal's reason.
 */
export async function measureInWorker(plan: LoadPlan, options: LoadOptions, signal: AbortSignal): Promise<Measurement> {
  signal.throwIfAborted();
  const { concurrency, warmupMs, durationMs } = options;
  const worker = new Worker(new URL('./load-worker.ts', import.meta.url), {
    workerData: { plan, options: { concurrency, warmupMs, durationMs } },
  });
  let onAbort = () => {};
  try {
    return await new Promise<Measurement>((resolve, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`load worker exited with ${code} before reporting`)));
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Its idle keep-alive connections would keep it alive a few seconds more.
    await worker.terminate();
  }
}

export async function measure(steps: Step[], options: LoadOptions): Promise<Measurement> {
  const started = performance.now();
  const cpuBefore = process.threadCpuUsage();
  const window = { from: started + options.warmupMs, to: started + options.warmupMs + options.durationMs };
  const latencies: number[] = [];
  const failures: unknown[] = [];
  const sent = await Promise.all(steps.map((step) => work(step, window, latencies, failures)));
  const cpu = process.threadCpuUsage(cpuBefore);
  const sorted = Float64Array.from(latencies).sort();
  return {
    requestsPerSecond: (latencies.length * 1000) / options.durationMs,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    requests: latencies.length,
    errors: failures.length,
    firstError: failures.length ? describe(failures[0]) : undefined,
    loadCpuMsPerRequest:
      (cpu.user + cpu.system) /
      1000 /
      Math.max(
        1,
        sent.reduce((a, b) => a + b, 0),
      ),
  };
}

// A connection stops at its first failure: for refresh tokens, a lost answer is a lost token.
// Returns how many requests it answered, warm-up included.
async function work(step: Step, window: { from: number; to: number }, latencies: number[], failures: unknown[]) {
  let answered = 0;
  for (let sent = performance.now(); sent < window.to; sent = performance.now()) {
    try {
      await step();
    } catch (err) {
      failures.push(err);
      return answered;
    }
    answered++;
    const done = performance.now();
    if (done >= window.from && done <= window.to) latencies.push(done - sent);
  }
  return answered;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

function describe(err: unknown): string {
  if (err instanceof BenchError) return err.message;
  const cause = (err as { cause?: unknown }).cause;
  return `${err instanceof Error ? err.message : String(err)}${cause instanceof Error ? ` (${cause.message})` : ''}`;
}
