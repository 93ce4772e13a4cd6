#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startBare } from './bench/bare.ts';
import { Cleanup } from './bench/cleanup.ts';
import { BenchError } from './bench/errors.ts';
import { type LoadOptions, type Measurement, measureInWorker } from './bench/load.ts';
import { createBenchDatabase } from './bench/postgres.ts';
import { figures, formatReport, percent, type Round, ratioOf, type ScenarioResult } from './bench/report.ts';
import { SCENARIOS, type Scenario } from './bench/scenarios.ts';
import type { Target } from './bench/target.ts';
import { startTessera } from './bench/tessera.ts';

/**
 * `npm run bench`: client_credentials and refresh_token grants per second against Tessera on
 * Postgres and, in the same process and run, against bare oidc-provider with the same settings
 * and its memory adapter. Each round measures both servers back to back (who goes first
 * alternates), and the report shows medians over the rounds, so drift in a shared machine's
 * load lands on both. It reports and does not gate: exit 0 whatever the ratio, 1 when a request
 * failed or the setup did.
 *
 * Tessera runs on a fresh database on DATABASE_URL's server (default: the local Postgres),
 * dropped at the end whatever happens.
 */
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

interface Options extends LoadOptions {
  rounds: number;
  /** Aborted by Ctrl-C or SIGTERM: the run stops and still cleans up after itself. */
  signal: AbortSignal;
}

const FLAGS = {
  rounds: { type: 'string', default: '5' },
  seconds: { type: 'string', default: '3' },
  'warmup-seconds': { type: 'string', default: '0.5' },
  concurrency: { type: 'string', default: '16' },
} as const;

function parseOptions(argv: string[], signal: AbortSignal): Options {
  let values: Record<keyof typeof FLAGS, string>;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true }));
  } catch (err) {
    throw new BenchError(
      `${(err as Error).message}; flags: ${Object.keys(FLAGS)
        .map((f) => `--${f}`)
        .join(' ')}`,
    );
  }
  const positive = (name: keyof typeof values) => {
    const value = Number(values[name]);
    if (!(value > 0)) throw new BenchError(`--${name} must be a positive number`);
    return value;
  };
  return {
    rounds: Math.ceil(positive('rounds')),
    durationMs: positive('seconds') * 1000,
    warmupMs: positive('warmup-seconds') * 1000,
    concurrency: Math.ceil(positive('concurrency')),
    signal,
  };
}

async function main(argv: string[], databaseUrl: string): Promise<void> {
  const interrupt = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => interrupt.abort(new BenchError(`interrupted by ${signal}`)));
  }
  const options = parseOptions(argv, interrupt.signal);
  const cleanup = new Cleanup();
  try {
    const database = await createBenchDatabase(databaseUrl);
    cleanup.defer(() => database.drop());
    const baseline = await startBare();
    cleanup.defer(() => baseline.close());
    const tessera = await startTessera(database.url);
    cleanup.defer(() => tessera.close());
    log(
      `${options.concurrency} connections; ${options.rounds} round(s) of ${options.warmupMs / 1000} s warm-up` +
        ` + ${options.durationMs / 1000} s measured, per scenario and server`,
    );
    await prime({ baseline, tessera }, options);
    const results = await runRounds({ baseline, tessera }, options);
    console.log(formatReport(results, { baseline: baseline.label, tessera: tessera.label }));
  } finally {
    await cleanup.run();
  }
}

type Targets = Record<keyof Round, Target>;

/** One unmeasured pass of everything, so the first round does not pay for the JIT and the caches. */
async function prime(targets: Targets, options: Options) {
  for (const scenario of SCENARIOS) {
    for (const target of [targets.baseline, targets.tessera]) {
      await measureOnce(scenario, target, { ...options, warmupMs: 0, durationMs: 1000 });
    }
  }
}

async function runRounds(targets: Targets, options: Options): Promise<ScenarioResult[]> {
  const results = SCENARIOS.map((s) => ({ scenario: s.name, rounds: [] as Round[] }));
  for (let round = 0; round < options.rounds; round++) {
    for (const [index, scenario] of SCENARIOS.entries()) {
      const pair = await measurePair(scenario, targets, options, round % 2 === 1);
      results[index]?.rounds.push(pair);
      log(
        `round ${round + 1}  ${scenario.name.padEnd(18)}  bare ${figures(pair.baseline)}  |  ` +
          `Tessera ${figures(pair.tessera)}  |  ${percent(ratioOf(pair))}`,
      );
    }
  }
  return results;
}

// Who goes first alternates, so neither always runs right after the other heated the machine.
async function measurePair(scenario: Scenario, targets: Targets, options: Options, tesseraFirst: boolean) {
  if (tesseraFirst) {
    const tessera = await measureOnce(scenario, targets.tessera, options);
    return { baseline: await measureOnce(scenario, targets.baseline, options), tessera };
  }
  const baseline = await measureOnce(scenario, targets.baseline, options);
  return { baseline, tessera: await measureOnce(scenario, targets.tessera, options) };
}

async function measureOnce(scenario: Scenario, target: Target, options: Options): Promise<Measurement> {
  options.signal.throwIfAborted();
  const plan = await scenario.plan(target, options.concurrency);
  const measurement = await measureInWorker(plan, options, options.signal);
  if (measurement.errors) {
    throw new BenchError(
      `${scenario.name} against ${target.label}: ${measurement.errors} failed request(s); first: ${measurement.firstError}`,
    );
  }
  return measurement;
}

const log = (line: string) => console.error(line);

main(process.argv.slice(2), process.env.DATABASE_URL || DEFAULT_DATABASE_URL).catch((err) => {
  // A failed request or a bad flag says all in its message; anything else may need its stack.
  const detail = err instanceof BenchError ? err.message : err instanceof Error ? (err.stack ?? err.message) : err;
  console.error(`bench failed: ${detail}`);
  process.exitCode = 1;
});
