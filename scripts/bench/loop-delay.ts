import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * How late this thread's event loop runs a timer, while a measurement runs. Node's histogram
 * records the whole interval between two ticks of its timer, the resolution included (an idle
 * loop sampled every 10 ms reports 10 ms), so the resolution is taken back off each percentile:
 * what is left is the delay. A fine resolution samples the loop often, and no longer hides a
 * short stall under the timer's own period.
 */
const RESOLUTION_MS = 1;

export interface LoopDelay {
  /** Stops sampling and gives the 99th percentile delay in milliseconds. */
  stop(): number;
}

export function watchLoopDelay(): LoopDelay {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  return {
    stop() {
      histogram.disable();
      return Math.max(0, histogram.percentile(99) / 1e6 - RESOLUTION_MS);
    },
  };
}
