import type { Measurement } from './load.ts';

/**
 * The table `npm run bench` prints: per scenario, the median of each figure over the rounds for
 * the baseline and for Tessera, and the ratio of their throughputs. The ratio is the median of
 * each round's own ratio: the two halves of a round run back to back, so a slow spell of a
 * shared machine lands on both and cancels, where it would not between two separate medians.
 */
export const GOAL = 0.85;

export interface Round {
  baseline: Measurement;
  tessera: Measurement;
}

export interface ScenarioResult {
  scenario: string;
  rounds: Round[];
}

interface Summary {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export function formatReport(results: ScenarioResult[], labels: { baseline: string; tessera: string }): string {
  const rows = results.map(({ scenario, rounds }) => ({
    scenario,
    baseline: summarize(rounds.map((r) => r.baseline)),
    tessera: summarize(rounds.map((r) => r.tessera)),
    ratio: median(rounds.map(ratioOf)),
  }));
  const table = [
    ['scenario', labels.baseline, labels.tessera, 'ratio'],
    ...rows.map((r) => [r.scenario, figures(r.baseline), figures(r.tessera), percent(r.ratio)]),
  ];
  const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => row[column]?.length ?? 0))) ?? [];
  const lines = table.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd(),
  );
  const verdicts = rows.map((r) => `${r.scenario} ${r.ratio >= GOAL ? 'met' : 'NOT met'} (${percent(r.ratio)})`);
  return [
    ...lines,
    '',
    "req/s and latencies (ms): medians over the rounds; ratio: median of the rounds' Tessera/bare throughput",
    `goal, Tessera at ${percent(GOAL)} or more of the bare library: ${verdicts.join(', ')}`,
  ].join('\n');
}

export const ratioOf = (round: Round) => round.tessera.requestsPerSecond / round.baseline.requestsPerSecond;

function summarize(measurements: Measurement[]): Summary {
  return {
    requestsPerSecond: median(measurements.map((m) => m.requestsPerSecond)),
    p50Ms: median(measurements.map((m) => m.p50Ms)),
    p99Ms: median(measurements.map((m) => m.p99Ms)),
  };
}

function median(values: number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  return sorted.length % 2 ? upper : ((sorted[middle - 1] ?? Number.NaN) + upper) / 2;
}

/** One measurement on one line, latencies in milliseconds. */
export function figures(m: Summary): string {
  return `${Math.round(m.requestsPerSecond)} req/s  p50 ${m.p50Ms.toFixed(1)}  p99 ${m.p99Ms.toFixed(1)}`;
}

export const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
