import { randomFill } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';

/**
 * Password hashes (argon2id: about 30 ms of a core each) run in libuv's threadpool, whose threads
 * otherwise compete with the event loop for the cores on equal terms: a burst of sign-ins on a
 * two-core machine then leaves every request waiting for a core. At a lower scheduling priority
 * the pool's threads take the time the event loop leaves; a hash waits a little under load,
 * a request does not. Linux only (each thread is a task under /proc/self/task, named by libuv);
 * elsewhere, or where a thread cannot be changed, nothing changes.
 */
const THREADPOOL_NICENESS = 10;
const THREADPOOL_THREAD_NAME = 'libuv-worker';

/** Lowers the priority of this process's threadpool threads; returns how many it lowered. */
export async function lowerThreadpoolPriority(): Promise<number> {
  // libuv starts all of its pool's threads at the first job: make sure they exist.
  await new Promise((resolve) => randomFill(Buffer.alloc(1), resolve));
  const tasks = await readdir('/proc/self/task').catch(() => []);
  let lowered = 0;
  for (const task of tasks) {
    const name = await readFile(`/proc/self/task/${task}/comm`, 'utf8').catch(() => '');
    if (name.trim() !== THREADPOOL_THREAD_NAME) continue;
    try {
      // On Linux a thread id is a task id, and setpriority() on one applies to that thread alone.
      setPriority(Number(task), THREADPOOL_NICENESS);
      lowered++;
    } catch {
      // Not ours to change (or not Linux after all): the pool keeps its priority.
    }
  }
  return lowered;
}
