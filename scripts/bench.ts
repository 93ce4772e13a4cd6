#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { collectGarbage } from '../server/startup-memory.ts';
import { startBare } from './bench/bare.ts';
import { Cleanup } from './bench/cleanup.ts';
import { BenchError } from './bench/errors.ts';
import { generateLargeData, LARGE, type SweepFigures, timeSweep } from './bench/large-data.ts';
import { type LoadOptions, type Measurement, measureInWorker } from './bench/load.ts';
import { watchLoopDelay } from './bench/loop-delay.ts';
import { machineCpuAfter, machineCpuBefore, spentSince } from './bench/machine-cpu.ts';
import { type IdleMemory, measureIdleMemory } from './bench/memory.ts';
import { createBenchDatabase } from './bench/postgres.ts';
import { figures, formatTable, percent, type Round, ratioOf, summarizeScenario } from './bench/report.ts';
import { SCENARIOS, type Scenario, type Subject } from './bench/scenarios.ts';
import type { Target } from './bench/target.ts';
import { startTessera } from './bench/tessera.ts';
import { startWorkers } from './bench/workers.ts';

/**
 * `npm run bench`: Tessera on PostgreSQL beside bare oidc-provider (the same settings, its memory
 * adapter, no Koa host around it) in the same run: client_credentials, refresh_token and
 * introspection per second, complete password sign-ins through the pages per second with the
 * event-loop delay meanwhile, client_credentials with WORKERS=2, and idle memory. Each round
 * measures both servers back to back (who goes first alternates), and the report shows medians
 * over the rounds, so drift in a shared machine's load lands on both. `--large` first fills the
 * database as a busy deployment's (large-data.ts) and times the sweep of its expired rows.
 * It reports and does not gate: exit 0 whatever the figures, 1 when a request failed or the
 * setup did. The JSON report (--report) holds every round.
 *
 * Tessera runs on a fresh database on DATABASE_URL's server (default: the local Postgres),
 * dropped at the end whatever happens.
 */
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const MEMORY = 'memory';

interface Options extends LoadOptions {
  rounds: number;
  scenarios: Scenario[];
  memory: boolean;
  large: boolean;
  reportPath: string;
  /** Aborted by Ctrl-C or SIGTERM: the run stops and still cleans up after itself. */
  signal: AbortSignal;
}

const FLAGS = {
  rounds: { type: 'string', default: '5' },
  seconds: { type: 'string', default: '3' },
  'warmup-seconds': { type: 'string', default: '0.5' },
  concurrency: { type: 'string', default: '16' },
  scenario: { type: 'string', multiple: true },
  large: { type: 'boolean', default: false },
  report: { type: 'string', default: 'bench-report.json' },
} as const;

const SCENARIO_KEYS = [...SCENARIOS.map((s) => s.key), MEMORY];

function parseOptions(argv: string[], signal: AbortSignal): Options {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true }));
  } catch (err) {
    throw new BenchError(
      `${(err as Error).message}; flags: ${Object.keys(FLAGS)
        .map((f) => `--${f}`)
        .join(' ')}`,
    );
  }
  const positive = (name: 'rounds' | 'seconds' | 'warmup-seconds' | 'concurrency') => {
    const value = Number(values[name]);
    if (!(value > 0)) throw new BenchError(`--${name} must be a positive number`);
    return value;
  };
  const picked = values.scenario ?? SCENARIO_KEYS;
  const unknown = picked.filter((key) => !SCENARIO_KEYS.includes(key));
  if (unknown.length)
    throw new BenchError(`unknown --scenario ${unknown.join(', ')}; one of ${SCENARIO_KEYS.join(', ')}`);
  return {
    rounds: Math.ceil(positive('rounds')),
    durationMs: positive('seconds') * 1000,
    warmupMs: positive('warmup-seconds') * 1000,
    concurrency: Math.ceil(positive('concurrency')),
    scenarios: SCENARIOS.filter((s) => picked.includes(s.key)),
    memory: picked.includes(MEMORY),
    large: values.large === true,
    reportPath: values.report ?? 'bench-report.json',
    signal,
  };
}

interface Targets {
  baseline: Target;
  subjects: Partial<Record<Subject, Target>>;
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
    const tessera = await startTessera(database.url, options.concurrency);
    cleanup.defer(() => tessera.close());
    if (options.large) {
      log(`--large: filling the database`);
      await generateLargeData(database.url, log);
    }
    let memory: IdleMemory | undefined;
    if (options.memory) {
      memory = await measureIdleMemory(database.url, tessera.secretKey);
      log(`idle memory: ${memory.postgresMb.toFixed(0)} MB on PostgreSQL, ${memory.embeddedMb.toFixed(0)} MB embedded`);
    }
    const baseline = await startBare();
    cleanup.defer(() => baseline.close());
    const subjects: Targets['subjects'] = { tessera };
    if (options.scenarios.some((s) => s.subject === 'workers')) {
      const workers = await startWorkers(database.url, tessera);
      cleanup.defer(() => workers.close());
      subjects.workers = workers;
    }
    const targets = { baseline, subjects };
    log(
      `${options.concurrency} connections; ${options.rounds} round(s) of ${options.warmupMs / 1000} s warm-up` +
        ` + ${options.durationMs / 1000} s measured, per scenario and server`,
    );
    await prime(targets, options);
    const results = await runRounds(targets, options);
    const sweep = options.large ? await timeSweep(tessera.db) : undefined;
    const summaries = results.map(summarizeScenario);
    console.log(formatTable(summaries, { baseline: baseline.label, tessera: tessera.label }));
    if (memory) {
      console.log(
        `idle memory: ${memory.postgresMb.toFixed(0)} MB on PostgreSQL (goal < 120), ${memory.embeddedMb.toFixed(0)} MB embedded (goal < 300)`,
      );
    }
    if (sweep) console.log(describeSweep(sweep));
    await writeFile(
      options.reportPath,
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          machine: { cpus: availableParallelism(), node: process.version, loadAverage: loadavg() },
          options: {
            rounds: options.rounds,
            seconds: options.durationMs / 1000,
            warmupSeconds: options.warmupMs / 1000,
            concurrency: options.concurrency,
            large: options.large ? LARGE : false,
          },
          scenarios: summaries.map((summary, i) => ({ ...summary, rounds: results[i]?.rounds })),
          memory,
          sweep,
        },
        null,
        2,
      )}\n`,
    );
    log(`report written to ${options.reportPath}`);
  } finally {
    await cleanup.run();
  }
}

function describeSweep(sweep: SweepFigures): string {
  return `sweep: ${sweep.rows} expired rows in ${sweep.seconds.toFixed(1)} s, batches of 5,000 taking ${sweep.meanBatchMs.toFixed(0)} ms each on average`;
}

/**
 * One unmeasured pass of everything, so the rounds do not pay for the JIT and the caches. Three
 * seconds: with one second, WORKERS=2's processes (each seeing half the requests) were still
 * compiling through the first rounds (V8's compiler threads took a quarter of their CPU in the first).
 */
const PRIME_MS = 3000;

async function prime(targets: Targets, options: Options) {
  for (const scenario of options.scenarios) {
    for (const target of targetsOf(scenario, targets)) {
      await measureOnce(scenario, target, { ...options, warmupMs: 0, durationMs: PRIME_MS });
    }
  }
}

function targetsOf(scenario: Scenario, { baseline, subjects }: Targets): Target[] {
  const subject = subjects[scenario.subject];
  if (!subject) throw new Error(`no ${scenario.subject} server was started`);
  return scenario.withBaseline ? [baseline, subject] : [subject];
}

async function runRounds(targets: Targets, options: Options) {
  const results = options.scenarios.map((scenario) => ({ scenario, rounds: [] as Round[] }));
  for (let round = 0; round < options.rounds; round++) {
    for (const [index, scenario] of options.scenarios.entries()) {
      const pair = await measurePair(scenario, targets, options, round % 2 === 1);
      results[index]?.rounds.push(pair);
      log(
        `round ${round + 1}  ${scenario.name.padEnd(30)}  ` +
          (pair.baseline ? `bare ${figures(pair.baseline)}  |  ` : '') +
          `Tessera ${figures(pair.tessera)}` +
          (pair.baseline ? `  |  ${percent(ratioOf(pair))}` : '') +
          `  |  load cpu ${pair.tessera.loadCpuMsPerRequest.toFixed(2)}`,
      );
    }
  }
  return results;
}

// Who goes first alternates, so neither always runs right after the other heated the machine.
async function measurePair(scenario: Scenario, targets: Targets, options: Options, tesseraFirst: boolean) {
  const [baseline, subject] = scenario.withBaseline
    ? (targetsOf(scenario, targets) as [Target, Target])
    : [undefined, targetsOf(scenario, targets)[0] as Target];
  if (!baseline) return { tessera: await measureOnce(scenario, subject, options) };
  if (tesseraFirst) {
    const tessera = await measureOnce(scenario, subject, options);
    return { baseline: await measureOnce(scenario, baseline, options), tessera };
  }
  const first = await measureOnce(scenario, baseline, options);
  return { baseline: first, tessera: await measureOnce(scenario, subject, options) };
}

async function measureOnce(scenario: Scenario, target: Target, options: Options): Promise<Measurement> {
  options.signal.throwIfAborted();
  const plan = await scenario.plan(target, options.concurrency);
  // Both in-process servers share this heap: without this, the garbage the first of a pair left
  // was collected during the second's measurement (rounds swung by who went first).
  collectGarbage();
  // The server of an in-process target runs on this thread's event loop (the load on a worker's).
  const loop = target.inProcess ? watchLoopDelay() : undefined;
  const machineBefore = await machineCpuBefore();
  const cpuBefore = process.threadCpuUsage();
  const processesBefore = await target.cpuMs?.();
  const measurement = await measureInWorker(plan, options, options.signal);
  const cpu = process.threadCpuUsage(cpuBefore);
  const processesMs = processesBefore === undefined ? undefined : ((await target.cpuMs?.()) ?? 0) - processesBefore;
  const machineAfter = await machineCpuAfter();
  const loopDelayP99Ms = loop?.stop();
  if (measurement.errors) {
    throw new BenchError(
      `${scenario.name} against ${target.label}: ${measurement.errors} failed request(s); first: ${measurement.firstError}`,
    );
  }
  // Every request sent, warm-up included, at the measured rate: the server's CPU time spread over them.
  const sent = Math.max(1, measurement.requestsPerSecond * ((options.warmupMs + options.durationMs) / 1000));
  // Its own CPU: its processes' when it runs apart, this thread's when it runs here.
  const ownMs = processesMs ?? (loop ? (cpu.user + cpu.system) / 1000 : undefined);
  const spent = machineBefore && machineAfter ? spentSince(machineBefore, machineAfter) : undefined;
  return {
    ...measurement,
    ...(loopDelayP99Ms !== undefined ? { loopDelayP99Ms } : {}),
    ...(ownMs !== undefined ? { cpuMsPerRequest: ownMs / sent } : {}),
    ...(spent ? { machineMsPerRequest: spent.busyMs / sent, machineBusyShare: spent.busyShare } : {}),
    ...(spent?.postgresMs !== undefined && target.inPostgres ? { postgresMsPerRequest: spent.postgresMs / sent } : {}),
  };
}

const log = (line: string) => console.error(line);

main(process.argv.slice(2), process.env.DATABASE_URL || DEFAULT_DATABASE_URL).catch((err) => {
  // A failed request or a bad flag says all in its message; anything else may need its stack.
  const detail = err instanceof BenchError ? err.message : err instanceof Error ? (err.stack ?? err.message) : err;
  console.error(`bench failed: ${detail}`);
  process.exitCode = 1;
});
