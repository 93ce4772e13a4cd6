import { spawn } from 'node:child_process';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchError } from './errors.ts';
import { freeLoopbackPort } from './listener.ts';

/**
 * Tessera as `npm start` runs it, in a process of its own, on a free port. Its log goes to a file
 * (a pipe would put its reading on the bench's event loop), which is read for the line saying it
 * listens; `close` sends SIGTERM and waits for the exit, then deletes the file.
 */
export interface NodeProcess {
  readonly origin: string;
  readonly pid: number;
  /** The resident memory of the process and its children (workers), in bytes. */
  residentBytes(): Promise<number>;
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
      if (text.includes('Tessera is listening')) break;
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
  return { origin, pid, residentBytes: () => residentBytesOfTree(pid), close };
}

/** VmRSS of a process and its direct children, from /proc (Linux). */
async function residentBytesOfTree(pid: number): Promise<number> {
  const children = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => ''))
    .split(' ')
    .filter(Boolean)
    .map(Number);
  const sizes = await Promise.all([pid, ...children].map(residentBytesOf));
  return sizes.reduce((a, b) => a + b, 0);
}

export async function residentBytesOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
  return kb * 1024;
}
