import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from './errors.ts';
import { freeLoopbackPort } from './listener.ts';
import { processCpu } from './machine-cpu.ts';

/**
 * Tessera as `npm start` runs it, in a process of its own, on a free port. Its log goes to a file
 * (a pipe would put its reading on the bench's event loop), which is read for the line saying it
 * listens; a silent one (LOG_LEVEL=silent, as the in-process Tessera runs) is ready when /readyz
 * answers and, with WORKERS, every worker process exists and has had SETTLE_MS to start. `close`
 * sends SIGTERM and waits for the exit, then deletes the file.
 */
export interface NodeProcess {
  readonly origin: string;
  readonly pid: number;
  /** The resident memory of the process and its children (workers), in bytes. */
  residentBytes(): Promise<number>;
  /** The CPU time the process and its children (workers) have used so far, in milliseconds. */
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

const ROOT = join(import.meta.dirname, '..', '..');
const START_WITHIN_MS = 120_000;

export async function spawnNode(env: Record<string, string>): Promise<NodeProcess> {
  const port = await freeLoopbackPort();
  const origin = `http://127.0.0.1:${port}`;
  const dir = await mkdtemp(join(tmpdir(), 'tessera-bench-'));
  const logPath = join(dir, 'tessera.log');
  const log = await open(logPath, 'w');
  const child = spawn(process.execPath, [join(ROOT, 'server', 'main.ts')], {
    env: { PATH: process.env.PATH, ISSUER: origin, PORT: String(port), DATA_DIR: join(dir, 'data'), ...env },
    stdio: ['ignore', log.fd, log.fd],
  });
  await log.close();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const deadline = Date.now() + START_WITHIN_MS; ; ) {
      const text = await readFile(logPath, 'utf8');
      if (
        env.LOG_LEVEL === 'silent'
          ? await ready(origin, child.pid ?? 0, Number(env.WORKERS ?? 1))
          : text.includes('Tessera is listening')
      )
        break;
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new BenchError(
          `Tessera (${JSON.stringify(env.WORKERS ?? '1')} worker(s)) did not start:\n${text.slice(-2000)}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (err) {
    await close();
    throw err;
  }
  const pid = child.pid ?? 0;
  return { origin, pid, residentBytes: () => residentBytesOfTree(pid), cpuMs: () => cpuMsOfTree(pid), close };
}

// A silent node says nothing when it listens. Workers are forked together and listen within a
// moment of each other; the settle time covers the one /readyz did not reach.
const SETTLE_MS = 2_000;

async function ready(origin: string, pid: number, workers: number): Promise<boolean> {
  const answer = await fetch(`${origin}/readyz`).catch(() => undefined);
  await answer?.body?.cancel();
  if (answer?.status !== 200) return false;
  if (workers > 1 && (await childrenOf(pid)).length < workers) return false;
  await new Promise((resolve) => setTimeout(resolve, workers > 1 ? SETTLE_MS : 0));
  return true;
}

async function childrenOf(pid: number): Promise<number[]> {
  return (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
    .split(' ')
    .filter(Boolean)
    .map(Number);
}

/** VmRSS of a process and its direct children, from /proc (Linux). */
async function residentBytesOfTree(pid: number): Promise<number> {
  const children = await childrenOf(pid);
  const sizes = await Promise.all([pid, ...children].map(residentBytesOf));
  return sizes.reduce((a, b) => a + b, 0);
}

/** utime + stime of a process and its direct children, from /proc (Linux). */
async function cpuMsOfTree(pid: number): Promise<number> {
  const children = await childrenOf(pid);
  const times = await Promise.all([pid, ...children].map(async (id) => (await processCpu(id))?.ms ?? 0));
  return times.reduce((a, b) => a + b, 0);
}

export async function residentBytesOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  return kb * 1024;
}
