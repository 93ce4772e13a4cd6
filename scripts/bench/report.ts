import type { Measurement } from './load.ts';
import type { Goal, Scenario } from './scenarios.ts';

/**
 * The table `npm run bench` prints and the JSON report it writes: per scenario, the median of
 * each figure over the rounds for the baseline and for Tessera, the ratio of their throughputs,
 * and whether the scenario's goal was met. The ratio is the median of each round's own ratio: the
 * two halves of a round run back to back, so a slow spell of a shared machine lands on both and
 * cancels, where it would not between two separate medians.
 */
export interface Round {
  baseline?: Measurement;
  tessera: Measurement;
}

export interface ScenarioResult {
  scenario: Scenario;
  rounds: Round[];
}

export interface Summary {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Of the server's event loop, when it ran in the bench's process. */
  loopDelayP99Ms?: number;
  cpuMsPerRequest?: number;
  machineMsPerRequest?: number;
  machineBusyShare?: number;
  postgresMsPerRequest?: number;
}

export interface ScenarioSummary {
  name: string;
  goal: Goal;
  baseline?: Summary;
  tessera: Summary;
  ratio?: number;
  /** Each part of the goal that was missed, in words; empty when it was met. */
  missed: string[];
}

export function summarizeScenario({ scenario, rounds }: ScenarioResult): ScenarioSummary {
  const baselines = rounds.flatMap((r) => (r.baseline ? [r.baseline] : []));
  const tessera = summarize(rounds.map((r) => r.tessera));
  const ratio = baselines.length ? median(rounds.flatMap((r) => (r.baseline ? [ratioOf(r)] : []))) : undefined;
  const { goal } = scenario;
  const missed = [
    goal.ratio !== undefined && !((ratio ?? 0) >= goal.ratio) ? `ratio under ${percent(goal.ratio)}` : '',
    goal.perSecond !== undefined && !(tessera.requestsPerSecond >= goal.perSecond) ? `under ${goal.perSecond}/s` : '',
    goal.p99Ms !== undefined && !(tessera.p99Ms < goal.p99Ms) ? `p99 not under ${goal.p99Ms} ms` : '',
    goal.loopDelayP99Ms !== undefined && !((tessera.loopDelayP99Ms ?? Number.NaN) < goal.loopDelayP99Ms)
      ? `event-loop delay p99 not under ${goal.loopDelayP99Ms} ms`
      : '',
  ].filter(Boolean);
  return {
    name: scenario.name,
    goal,
    ...(baselines.length ? { baseline: summarize(baselines) } : {}),
    tessera,
    ...(ratio !== undefined ? { ratio } : {}),
    missed,
  };
}

export function formatTable(summaries: ScenarioSummary[], labels: { baseline: string; tessera: string }): string {
  const table = [
    ['scenario', labels.baseline, labels.tessera, 'ratio', 'goal', 'verdict'],
    ...summaries.map((s) => [
      s.name,
      s.baseline ? figures(s.baseline) : '-',
      figures(s.tessera),
      s.ratio !== undefined ? percent(s.ratio) : '-',
      describeGoal(s.goal),
      s.missed.length ? `NOT met: ${s.missed.join(', ')}` : 'met',
    ]),
  ];
  const widths = table[0]?.map((_, column) => Math.max(...table.map((row) => row[column]?.length ?? 0))) ?? [];
  return [
    ...table.map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    ),
    '',
    "req/s (complete sign-ins/s for password_login) and latencies in ms: medians over the rounds; ratio: median of the rounds' Tessera/bare throughput; loop: p99 event-loop delay of the server; cpu: its thread's CPU ms per request (its processes' for WORKERS=2); pg: CPU ms per request of the PostgreSQL processes on this machine; machine: busy CPU ms per request of the whole machine (server, load, PostgreSQL, kernel, anything else running; warm-up and the load worker's start included) and the share of the cores' time it was busy: the rate is at most cores × 1000 × that share / machine",
  ].join('\n');
}

function describeGoal(goal: Goal): string {
  return [
    goal.ratio !== undefined ? `≥ ${percent(goal.ratio)} of bare` : '',
    goal.perSecond !== undefined ? `≥ ${goal.perSecond}/s` : '',
    goal.p99Ms !== undefined ? `p99 < ${goal.p99Ms} ms` : '',
    goal.loopDelayP99Ms !== undefined ? `loop p99 < ${goal.loopDelayP99Ms} ms` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export const ratioOf = (round: Round) =>
  round.baseline ? round.tessera.requestsPerSecond / round.baseline.requestsPerSecond : Number.NaN;

function summarize(measurements: Measurement[]): Summary {
  // The median of an optional figure over the measurements that have it.
  const medianOf = (
    figure: 'loopDelayP99Ms' | 'cpuMsPerRequest' | 'machineMsPerRequest' | 'machineBusyShare' | 'postgresMsPerRequest',
  ) => {
    const values = measurements.flatMap((m) => (m[figure] !== undefined ? [m[figure]] : []));
    return values.length ? { [figure]: median(values) } : {};
  };
  return {
    requestsPerSecond: median(measurements.map((m) => m.requestsPerSecond)),
    p50Ms: median(measurements.map((m) => m.p50Ms)),
    p99Ms: median(measurements.map((m) => m.p99Ms)),
    ...medianOf('loopDelayP99Ms'),
    ...medianOf('cpuMsPerRequest'),
    ...medianOf('machineMsPerRequest'),
    ...medianOf('machineBusyShare'),
    ...medianOf('postgresMsPerRequest'),
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
  const loop = m.loopDelayP99Ms !== undefined ? `  loop ${m.loopDelayP99Ms.toFixed(1)}` : '';
  const cpu = m.cpuMsPerRequest !== undefined ? `  cpu ${m.cpuMsPerRequest.toFixed(2)}` : '';
  const pg = m.postgresMsPerRequest !== undefined ? `  pg ${m.postgresMsPerRequest.toFixed(2)}` : '';
  const machine =
    m.machineMsPerRequest !== undefined
      ? `  machine ${m.machineMsPerRequest.toFixed(2)} (${Math.round((m.machineBusyShare ?? Number.NaN) * 100)}% busy)`
      : '';
  return `${Math.round(m.requestsPerSecond)} req/s  p50 ${m.p50Ms.toFixed(1)}  p99 ${m.p99Ms.toFixed(1)}${loop}${cpu}${pg}${machine}`;
}

export const percent = (ratio: number) => `${(ratio * 100).toFixed(1)}%`;
