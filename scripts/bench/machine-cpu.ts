import { readdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';

/**
 * Where a measurement's CPU went on the whole machine, from /proc (Linux; elsewhere nothing):
 * every core's busy time (whatever runs on it: the servers, the load, PostgreSQL, the kernel, any
 * other process), and that of the processes named postgres here (every cluster on this machine;
 * none when the database is elsewhere). With all of them on the same cores, a server's throughput
 * is bounded by the machine's CPU time per request, not its own thread's: at most the cores' time
 * a second, at the share of it the machine keeps busy, divided by that figure.
 */
export interface MachineCpu {
  busyMs: number;
  /** When it was read, in milliseconds (performance.now). */
  atMs: number;
  /** CPU time so far of each PostgreSQL process, by pid. */
  postgresMs: Map<number, number>;
}

export interface MachineCpuSpent {
  busyMs: number;
  /** The share of the cores' time they were busy, 0 to 1. */
  busyShare: number;
  /** Undefined when no PostgreSQL process runs on this machine. */
  postgresMs: number | undefined;
}

// Clock ticks of /proc's times: USER_HZ, 100 on every Linux build.
const TICK_MS = 10;

/** Read before a measurement: the slower scan of the processes first, so it falls outside. */
export async function machineCpuBefore(): Promise<MachineCpu | undefined> {
  const postgresMs = await postgresProcesses();
  const busy = await busyCores();
  return busy && { ...busy, postgresMs };
}

/** Read after a measurement: the cores first, then the processes. */
export async function machineCpuAfter(): Promise<MachineCpu | undefined> {
  const busy = await busyCores();
  return busy && { ...busy, postgresMs: await postgresProcesses() };
}

async function busyCores(): Promise<{ busyMs: number; atMs: number } | undefined> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // cpu  user nice system idle iowait irq softirq steal: busy is what ran here; idle, waiting
  // for the disk and the time the hypervisor gave to other machines (steal) are not.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = (stat.split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busyMs: (user + nice + system + irq + softirq) * TICK_MS, atMs: performance.now() };
}

/**
 * What was spent since `before`. A PostgreSQL backend that started meanwhile counts whole; one
 * that ended meanwhile is lost, so the figure errs low (the pool keeps its connections while busy).
 */
export function spentSince(before: MachineCpu, after: MachineCpu): MachineCpuSpent {
  let postgresMs = 0;
  for (const [pid, ms] of after.postgresMs) postgresMs += ms - (before.postgresMs.get(pid) ?? 0);
  const busyMs = after.busyMs - before.busyMs;
  return {
    busyMs,
    busyShare: busyMs / ((after.atMs - before.atMs) * availableParallelism()),
    postgresMs: after.postgresMs.size > 0 ? postgresMs : undefined,
  };
}

async function postgresProcesses(): Promise<Map<number, number>> {
  const times = new Map<number, number>();
  const pids = (await readdir('/proc').catch(() => [])).filter((name) => /^\d+$/.test(name)).map(Number);
  await Promise.all(
    pids.map(async (pid) => {
      const cpu = await processCpu(pid);
      if (cpu?.name === 'postgres') times.set(pid, cpu.ms);
    }),
  );
  return times;
}

/** A process's name and its utime + stime so far, in milliseconds; undefined once it is gone. */
export async function processCpu(pid: number): Promise<{ name: string; ms: number } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return undefined;
  // The name is in parentheses and may hold spaces; the fields follow it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    ms: (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * TICK_MS,
  };
}
