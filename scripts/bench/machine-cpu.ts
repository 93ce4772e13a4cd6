import { readdir, readFile } from 'node:fs/promises';

/**
 * Where a measurement's CPU went on the whole machine, from /proc (Linux; elsewhere nothing):
 * every core's busy time, and that of the PostgreSQL processes on this machine. With the load,
 * the servers and PostgreSQL on the same cores, a server's throughput is bounded by the machine's
 * CPU time per request, not its own thread's; these figures show that bound in every run.
 */
export interface MachineCpu {
  busyMs: number;
  /** CPU time so far of each PostgreSQL process, by pid. */
  postgresMs: Map<number, number>;
}

export interface MachineCpuSpent {
  busyMs: number;
  postgresMs: number;
}

// Clock ticks of /proc's times: USER_HZ, 100 on every Linux build.
const TICK_MS = 10;

export async function readMachineCpu(): Promise<MachineCpu | undefined> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // cpu  user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = (stat.split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return { busyMs: (user + nice + system + irq + softirq + steal) * TICK_MS, postgresMs: await postgresProcesses() };
}

/**
 * What was spent since `before`. A PostgreSQL backend that started meanwhile counts whole; one
 * that ended meanwhile is lost, so the figure errs low (the pool keeps its connections while busy).
 */
export function spentSince(before: MachineCpu, after: MachineCpu): MachineCpuSpent {
  let postgresMs = 0;
  for (const [pid, ms] of after.postgresMs) postgresMs += ms - (before.postgresMs.get(pid) ?? 0);
  return { busyMs: after.busyMs - before.busyMs, postgresMs };
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
