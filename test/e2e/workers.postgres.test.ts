import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually, type RunningTessera, startTessera } from '../support/tessera.ts';

/**
 * WORKERS=2 on PostgreSQL: two worker processes share the port, each a full node. One that dies
 * is replaced while the other keeps serving; SIGTERM drains both and the primary exits 0.
 */
const AT_ONCE = 100;

let tessera: RunningTessera;
let basic: string;

beforeAll(async () => {
  tessera = await startTessera({ WORKERS: '2' });
  const machine = (await tessera.cli(['clients', 'create', '--name', 'Batch', '--type', 'machine'])).json<{
    client_id: string;
    client_secret: string;
  }>();
  basic = `Basic ${Buffer.from(`${machine.client_id}:${machine.client_secret}`).toString('base64')}`;
});

afterAll(async () => {
  await tessera?.dispose();
});

/** The pids of the workers that said they listen, in order. */
const workerPids = () =>
  tessera
    .logs()
    .split('\n')
    .filter((line) => line.includes('"msg":"worker is listening"'))
    .map((line) => JSON.parse(line).pid as number);

/** `AT_ONCE` client_credentials requests at once; answers their statuses. */
async function tokensAtOnce(): Promise<number[]> {
  const answers = await Promise.all(
    Array.from({ length: AT_ONCE }, () =>
      fetch(new URL('/token', tessera.issuer), {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      }),
    ),
  );
  return Promise.all(
    answers.map(async (res) => {
      await res.json();
      return res.status;
    }),
  );
}

describe('WORKERS=2', () => {
  it('serves from two processes, which see the same clients', async () => {
    expect(new Set(workerPids()).size).toBe(2);
    expect(tessera.logs()).toContain('"workers":2,"msg":"Tessera is listening"');
    // The client was made by the CLI after both started: each worker found it in the database.
    await eventually(async () => expect(new Set(await tokensAtOnce())).toEqual(new Set([200])));
  });

  it('replaces a worker that dies, and the other serves meanwhile', async () => {
    const [victim] = workerPids();
    process.kill(victim ?? 0, 'SIGKILL');
    await eventually(async () => expect(tessera.logs()).toContain('"msg":"worker died; starting another"'));
    // The survivor answers while the replacement starts.
    expect(new Set(await tokensAtOnce())).toEqual(new Set([200]));

    await eventually(async () => expect(workerPids()).toHaveLength(3), 60_000);
    const live = workerPids().filter((pid) => pid !== victim);
    expect(live).toHaveLength(2);
    for (const pid of live) expect(() => process.kill(pid, 0)).not.toThrow();
    expect(new Set(await tokensAtOnce())).toEqual(new Set([200]));
  });

  it('drains every worker on SIGTERM and exits 0', async () => {
    await tessera.stop();
    const logs = tessera.logs();
    expect(logs).toContain('"reason":"SIGTERM","msg":"stopping: draining every worker"');
    expect(logs.split('\n').filter((line) => line.includes('"msg":"stopping: draining requests"'))).toHaveLength(2);
    expect(logs).toContain('[tessera exited: code 0, signal null]');
    for (const pid of workerPids()) expect(() => process.kill(pid, 0)).toThrow();
  });
});
